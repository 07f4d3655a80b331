"""Reading a staff CSV file: its bytes as text, each row with the line it starts on, and its header: pure."""

import csv
import io
import re
from collections.abc import Iterator

COLUMNS = ("employee_id", "name", "email", "department", "job_title", "hire_date", "manager_email")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
EXAMPLE = "employee_id,name,email,department,job_title,hire_date,manager_email"


class FileProblem(Exception):
    """The file as a whole cannot be read as a staff CSV."""


def decode(data: bytes) -> tuple[str, str]:
    """The text and the name of its encoding: UTF-8 (with or without BOM), else Windows-1252.

    Windows-1252 is the superset of Latin-1 that spreadsheet programs on Windows write; bytes it
    does not define, NUL bytes and control characters mean the file is not text at all.
    """
    if b"\x00" in data:
        raise FileProblem(_NOT_CSV)
    try:
        text = data.decode("utf-8-sig")
        encoding = "UTF-8 with BOM" if data.startswith(b"\xef\xbb\xbf") else "UTF-8"
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise FileProblem(_NOT_CSV) from None
        encoding = "Windows-1252 (Latin-1)"
    if not text.strip():
        raise FileProblem(f"The file is empty. The first line must be the header: {EXAMPLE}")
    if CONTROL_CHARACTERS.search(text):
        raise FileProblem(_NOT_CSV)
    return text, encoding


_NOT_CSV = (
    "This file is not a CSV text file (it contains binary data). Save the spreadsheet as "
    '"CSV UTF-8 (comma delimited)" and upload that file.'
)


def csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """Each row with the file line it starts on (the header is line 1); FileProblem for broken CSV."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    line = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise FileProblem(f"Line {line}: the file cannot be read as CSV ({error}); check the quotes.") from None
        yield line, fields
        line = reader.line_num + 1


def header_columns(fields: list[str]) -> dict[str, int]:
    """Column name -> position; raises FileProblem naming what is missing, unknown or repeated."""
    names = [name.strip().lower() for name in fields]
    problems = []
    if len(names) == 1 and ";" in names[0]:
        problems.append("the columns are separated by semicolons; save the file with commas between columns")
    else:
        unknown = [name or f"(column {i} has no name)" for i, name in enumerate(names, 1) if name not in COLUMNS]
        repeated = sorted({name for name in names if name in COLUMNS and names.count(name) > 1})
        missing = [name for name in COLUMNS if name not in names]
        if unknown:
            problems.append(f"unknown column(s) {', '.join(unknown)} (extra columns are not accepted)")
        if repeated:
            problems.append(f"repeated column(s) {', '.join(repeated)}")
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
    if problems:
        raise FileProblem(
            f"Line 1 (the header): {'; '.join(problems)}. The header must name these columns, in any order: {EXAMPLE}"
        )
    return {name: names.index(name) for name in COLUMNS}
