"""Question forms (editor, bank filter, status, preview). Limits are the content files', so what saves also exports."""

import re

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SearchField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from training import question_types
from training.content.loader import (
    MAX_FEEDBACK,
    MAX_OPTION,
    MAX_OPTIONS,
    MAX_PROMPT,
    MAX_TEXT,
    MIN_OPTIONS,
    QUESTION_ID_RE,
    TAG_RE,
)
from training.content.schema import OptionSpec, QuestionSpec
from training.urls import is_number

TYPE_CHOICES = [SelectChoice(kind.name, kind.choice_label) for kind in question_types.QUESTION_TYPES.values()]
TYPE_LABELS = {kind.name: kind.label for kind in question_types.QUESTION_TYPES.values()}
STATUS_LABELS = {"draft": "Draft", "published": "Published", "retired": "Retired"}
MAX_TAGS, MAX_REFERENCES, MAX_REFERENCE = 10, 5, 200


def question_labels() -> dict:
    """The labels of question types and statuses, for the templates of the pages that list questions."""
    return {"type_labels": TYPE_LABELS, "question_status_labels": STATUS_LABELS}


def normalise_text(value: str | None) -> str:
    """Browsers send CRLF line ends; files and hashes use LF, without surrounding blank space."""
    return (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def parse_tags(value: str | None) -> list[str]:
    """'Photos, social media' -> ['photos', 'social-media'] (lowercase, hyphens, no repeats)."""
    tags = []
    for part in (value or "").split(","):
        tag = re.sub(r"\s+", "-", part.strip().lower())
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def parse_references(value: str | None) -> list[str]:
    return [line.strip() for line in normalise_text(value).split("\n") if line.strip()]


class OptionForm(Form):
    text = TextAreaField("Option text", validators=[Length(max=MAX_OPTION)], render_kw={"rows": 2})
    correct = BooleanField("Correct answer")
    feedback = TextAreaField(
        "Feedback",
        validators=[Length(max=MAX_FEEDBACK)],
        description="Shown to a learner who chose this option: say why it is right or wrong.",
        render_kw={"rows": 2},
    )


class QuestionForm(FlaskForm):
    key = StringField(
        "Question id",
        validators=[
            Optional(),
            Regexp(QUESTION_ID_RE, message="Use 3 to 64 lowercase letters, digits and hyphens."),
        ],
        description="A stable id used in files and exports. Leave blank to make one from the prompt.",
        render_kw={"autocapitalize": "none", "spellcheck": "false"},
    )
    type = SelectField("Question type", choices=TYPE_CHOICES, default="single")
    scenario = TextAreaField(
        "Scenario",
        validators=[Length(max=MAX_TEXT)],
        description="The situation, in Markdown. Keep it realistic and free of real patient details.",
        render_kw={"rows": 6},
    )
    prompt = TextAreaField(
        "Question",
        validators=[DataRequired(message="Enter the question learners answer."), Length(max=MAX_PROMPT)],
        render_kw={"rows": 2},
    )
    options = FieldList(FormField(OptionForm), min_entries=MIN_OPTIONS, max_entries=50)
    explanation = TextAreaField(
        "Explanation",
        validators=[DataRequired(message="Explain the right answer."), Length(max=MAX_TEXT)],
        description="Shown after the quiz whatever was chosen, in Markdown.",
        render_kw={"rows": 4},
    )
    tags = StringField(
        "Tags",
        validators=[Length(max=500)],
        description="Separated by commas, for example: photos, consent.",
    )
    references = TextAreaField(
        "References",
        validators=[Length(max=MAX_REFERENCES * (MAX_REFERENCE + 2))],
        description="One per line, for example: 45 CFR 164.514(b) de-identification.",
        render_kw={"rows": 2},
    )
    change_note = StringField(
        "What changed and why",
        validators=[Length(max=300)],
        description="Optional; kept in the question's history.",
    )
    base_version = HiddenField()

    def __init__(self, *args, new: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.is_new = new
        self.option_problems: list[str] = []
        if not new:
            del self.key

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        return self._check_options() and self._check_tags_and_references() and ok

    def _check_options(self) -> bool:
        problems = self.option_problems
        count = len(self.options.entries)
        if not MIN_OPTIONS <= count <= MAX_OPTIONS:
            problems.append(f"A question has {MIN_OPTIONS} to {MAX_OPTIONS} options; this one has {count}.")
        seen, ok = {}, not problems
        for number, entry in enumerate(self.options.entries, start=1):
            text, feedback = normalise_text(entry.form.text.data), normalise_text(entry.form.feedback.data)
            if not text:
                entry.form.text.errors.append(f"Enter the text of option {number}, or remove the option.")
                ok = False
            elif text.casefold() in seen:
                entry.form.text.errors.append(f"Option {seen[text.casefold()]} has the same text.")
                ok = False
            else:
                seen[text.casefold()] = number
            if not feedback:
                entry.form.feedback.errors.append(f"Enter feedback for option {number}.")
                ok = False
        question_type = question_types.QUESTION_TYPES.get(self.type.data)
        if question_type is not None:
            texts = [normalise_text(entry.form.text.data) for entry in self.options.entries]
            flags = [bool(entry.form.correct.data) for entry in self.options.entries]
            problems.extend(problem.in_form for problem in question_type.validate_options(texts, flags))
        return ok and not problems

    def _check_tags_and_references(self) -> bool:
        ok = True
        tags = parse_tags(self.tags.data)
        bad = [t for t in tags if not TAG_RE.match(t)]
        if bad:
            self.tags.errors.append(f"Tags use lowercase letters, digits and hyphens (up to 40): {', '.join(bad)}.")
            ok = False
        if len(tags) > MAX_TAGS:
            self.tags.errors.append(f"Use at most {MAX_TAGS} tags.")
            ok = False
        references = parse_references(self.references.data)
        if len(references) > MAX_REFERENCES:
            self.references.errors.append(f"Give at most {MAX_REFERENCES} references.")
            ok = False
        if any(len(r) > MAX_REFERENCE for r in references):
            self.references.errors.append(f"Each reference is at most {MAX_REFERENCE} characters.")
            ok = False
        return ok

    def to_spec(self, key: str) -> QuestionSpec:
        return QuestionSpec(
            id=key,
            type=self.type.data,
            prompt=normalise_text(self.prompt.data),
            options=tuple(
                OptionSpec(
                    text=normalise_text(e.form.text.data),
                    correct=bool(e.form.correct.data),
                    feedback=normalise_text(e.form.feedback.data),
                )
                for e in self.options.entries
            ),
            explanation=normalise_text(self.explanation.data),
            scenario=normalise_text(self.scenario.data),
            tags=tuple(parse_tags(self.tags.data)),
            references=tuple(parse_references(self.references.data)),
        )

    def base(self) -> int | None:
        value = (self.base_version.data or "").strip()
        return int(value) if is_number(value) and len(value) < 10 else None

    @classmethod
    def data_of(cls, spec: QuestionSpec, version: int) -> dict:
        """Form data for editing a stored version."""
        return {
            "type": spec.type,
            "scenario": spec.scenario,
            "prompt": spec.prompt,
            "options": [{"text": o.text, "correct": o.correct, "feedback": o.feedback} for o in spec.options],
            "explanation": spec.explanation,
            "tags": ", ".join(spec.tags),
            "references": "\n".join(spec.references),
            "base_version": str(version),
        }


class BankFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search that changes nothing

    q = SearchField("Search", validators=[Optional(), Length(max=200)], description="Id, question or scenario text")
    type = SelectField(
        "Type", choices=[SelectChoice("", "All types"), *TYPE_CHOICES], validators=[Optional()], default=""
    )
    status = SelectField(
        "Status",
        choices=[
            SelectChoice("", "All statuses"),
            SelectChoice("draft", "Draft"),
            SelectChoice("published", "Published"),
            SelectChoice("retired", "Retired"),
        ],
        validators=[Optional()],
        default="",
    )
    tag = SelectField("Tag", validators=[Optional()], default="")


class StatusForm(FlaskForm):
    action = HiddenField(validators=[DataRequired()])


class PreviewAnswerForm(FlaskForm):
    """CSRF only: the chosen options are read from the request and checked against the version."""
