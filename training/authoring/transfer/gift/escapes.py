"""GIFT's backslash escapes: escaping and unescaping text, and finding the characters that are not escaped."""

SPECIAL = "~=#{}:"


def unescaped_positions(text: str):
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        yield i
        i += 1


def find_unescaped(text: str, token: str, start: int = 0) -> int:
    for i in unescaped_positions(text):
        if i >= start and text.startswith(token, i):
            return i
    return -1


def split_unescaped(text: str, char: str) -> list[str]:
    bits, last = [], 0
    for i in unescaped_positions(text):
        if text[i] == char:
            bits.append(text[last:i])
            last = i + 1
    return [*bits, text[last:]]


def unescape(text: str) -> str:
    """GIFT escapes: \\~ \\= \\# \\{ \\} \\: \\\\ and \\n (a line break); any other backslash stays."""
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            following = text[i + 1]
            if following in SPECIAL or following == "\\":
                out.append(following)
            elif following == "n":
                out.append("\n")
            else:
                out.append(char + following)
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def escape(text: str) -> str:
    """Escape GIFT's special characters; line breaks that would end the question become \\n."""
    escaped = text.replace("\\", "\\\\")
    for char in SPECIAL:
        escaped = escaped.replace(char, "\\" + char)
    lines = escaped.split("\n")
    out = lines[0]
    for line in lines[1:]:
        risky = not line.strip() or line.lstrip().startswith(("//", "$CATEGORY"))
        out += ("\\n" if risky else "\n") + line
    return out
