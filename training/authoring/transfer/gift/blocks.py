"""A GIFT file cut into question blocks (runs of non-blank lines), with the comments our export writes."""

from dataclasses import dataclass, field

from training.urls import is_number

COMMENT_TAGS, COMMENT_REFERENCE = "tags:", "reference:"
COMMENT_ORDER, COMMENT_PARAGRAPHS = "true-false order:", "prompt paragraphs:"


@dataclass
class Block:
    """One question's lines (a run of non-blank lines), with the comments our export writes."""

    lines: list[tuple[int, str]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    false_first: bool = False
    prompt_paragraphs: int = 1


def read_blocks(text: str):
    block = Block()
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        stripped = line.strip()
        if not stripped:
            if block.lines:
                yield block
            block = Block()
        elif stripped.startswith("//"):
            _read_comment(block, stripped[2:].strip())
        else:
            block.lines.append((number, line))
    if block.lines:
        yield block


def _read_comment(block: Block, comment: str) -> None:
    lowered = comment.lower()
    if lowered.startswith(COMMENT_TAGS):
        block.tags += [t.strip() for t in comment[len(COMMENT_TAGS) :].split(",") if t.strip()]
    elif lowered.startswith(COMMENT_REFERENCE):
        reference = comment[len(COMMENT_REFERENCE) :].strip()
        if reference:
            block.references.append(reference)
    elif lowered.startswith(COMMENT_ORDER):
        block.false_first = lowered[len(COMMENT_ORDER) :].strip().startswith("false")
    elif lowered.startswith(COMMENT_PARAGRAPHS):
        value = comment[len(COMMENT_PARAGRAPHS) :].strip()
        block.prompt_paragraphs = int(value) if is_number(value) and 0 < int(value) < 50 else 1


class Where:
    """Maps an offset in a question's joined text back to its line in the file."""

    def __init__(self, lines: list[tuple[int, str]]):
        self.starts, offset = [], 0
        for number, line in lines:
            self.starts.append((offset, number))
            offset += len(line) + 1

    def line(self, offset: int) -> int:
        found = self.starts[0][1]
        for start, number in self.starts:
            if start > offset:
                break
            found = number
        return found
