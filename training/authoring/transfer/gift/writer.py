"""Question specs written as GIFT, with comment lines for what GIFT has no place for (the reader reads them back).

`write_gift` writes the comment lines `// tags: ...`, `// reference: ...` (and, when needed,
`// true-false order: ...` and `// prompt paragraphs: N`) that `parse_gift` reads back, so
`parse_gift(write_gift(specs)).specs == specs` for every question the app can hold.
"""

import re

from training import question_types
from training.authoring.transfer.gift.escapes import escape
from training.content.schema import QuestionSpec
from training.question_types.base import GIFT_TRUE_FALSE


def write_question(spec: QuestionSpec) -> str:
    """One question in GIFT, preceded by the comments that carry what GIFT has no place for."""
    lines = []
    if spec.tags:
        lines.append(f"// tags: {', '.join(spec.tags)}")
    lines += [f"// reference: {' '.join(reference.split())}" for reference in spec.references]
    question_type = question_types.get(spec.type)
    if question_type.gift_kind == GIFT_TRUE_FALSE and spec.options and spec.options[0].text == "False":
        lines.append("// true-false order: False, True")
    paragraphs = len(re.findall(r"\n[ \t]*\n", spec.prompt)) + 1
    if paragraphs > 1:
        lines.append(f"// prompt paragraphs: {paragraphs}")
    text = f"{spec.scenario}\n\n{spec.prompt}" if spec.scenario else spec.prompt
    lines.append(f"::{spec.id}::[markdown]{escape(text)} {{")
    lines += question_type.gift_answer_lines(spec.options, escape)
    lines.append(f"####{escape(spec.explanation)}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_gift(specs, heading: str = "") -> str:
    """A GIFT file of the questions, a blank line between them (Moodle reads it as Markdown text)."""
    head = "".join(f"// {line}\n" for line in heading.splitlines() if line.strip())
    return head + ("\n" if head else "") + "\n".join(write_question(spec) for spec in specs)
