"""Write content specs back in the file format that training/content/loader.py reads.

Pure: specs in, text out. Multi-line text is written in YAML's literal block style so the files stay
readable and diff well; `parse_question_bank(dump_question_bank(specs)) == specs`.
"""

import yaml

from training.content.schema import CourseSpec, ModuleSpec, QuestionSpec


class _Dumper(yaml.SafeDumper):
    """Literal blocks for multi-line text; lists of mappings indented under their key."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def _text(dumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def _dump(data) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False)


def question_data(spec: QuestionSpec) -> dict:
    """One question as the mapping a bank file holds (empty optional fields left out)."""
    data = {"id": spec.id, "type": spec.type}
    if spec.scenario:
        data["scenario"] = spec.scenario
    data["prompt"] = spec.prompt
    data["options"] = [{"text": o.text, "correct": o.correct, "feedback": o.feedback} for o in spec.options]
    data["explanation"] = spec.explanation
    if spec.tags:
        data["tags"] = list(spec.tags)
    if spec.references:
        data["references"] = list(spec.references)
    return data


def dump_question_bank(specs) -> str:
    """A quizzes/<course>.yaml file: the questions in order, a blank line between them."""
    return "\n".join(_dump([question_data(spec)]) for spec in specs) or "[]\n"


def dump_course_settings(course: CourseSpec) -> str:
    """modules/<course>/course.yaml."""
    return _dump(
        {
            "title": course.title,
            "summary": course.summary,
            "pass_mark": course.pass_mark,
            "questions_per_attempt": course.questions_per_attempt,
            "certificate_validity_months": course.certificate_validity_months,
            "estimated_minutes": course.estimated_minutes,
        }
    )


def dump_module(module: ModuleSpec) -> str:
    """modules/<course>/NN-<slug>.md: front matter (title, summary when there is one), then the body."""
    meta = {"title": module.title}
    if module.summary:
        meta["summary"] = module.summary
    return f"---\n{_dump(meta)}---\n{module.body.strip()}\n"


def module_filename(number: int, module: ModuleSpec) -> str:
    return f"{number:02d}-{module.slug}.md"
