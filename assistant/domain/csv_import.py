"""What every CSV import shares (roster, facilities, people): the bounded read, the header, and problems by line.

An import reads its file once, refuses it whole when it is larger than
``IMPORT_MAX_BYTES`` or has more than ``IMPORT_MAX_ROWS`` rows (the limits
in ``assistant.core.rules``, quoted in the refusal), checks the header's
column names (in any order), and reports every problem with the line and
column it is on. An import with any problem imports nothing:
``ImportProblems`` carries them all.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.core.rules import CONTROL_CHARACTERS, IMPORT_MAX_BYTES, IMPORT_MAX_ROWS, NAME_LIMIT


@dataclass(frozen=True)
class Problem:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


class ImportProblems(Exception):
    """What is wrong with an import's file, each problem with its line and column; nothing was imported."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(problems, key=lambda problem: problem.line)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class CellProblem(Exception):
    """One cell's value is wrong: raised while a row is read, reported as a ``Problem`` on the row's line."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column, self.message = column, message


Row = dict[str, str]


def read_file(path: str | Path) -> str:
    """The file's text, read once; ``ImportProblems`` if too large or not UTF-8, ``OSError`` if unreadable."""
    with open(path, "rb") as handle:
        data = handle.read(IMPORT_MAX_BYTES + 1)
    if len(data) > IMPORT_MAX_BYTES:
        limit = f"{IMPORT_MAX_BYTES // (1024 * 1024)} MB"
        raise ImportProblems([Problem(1, "-", f"the file is larger than {limit}, the most one import reads.")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        message = f"the file is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as CSV UTF-8."
        raise ImportProblems([Problem(1, "-", message)]) from None


def records(text: str, columns: Sequence[str], optional: Sequence[str] = ()) -> Iterator[tuple[int, Row]]:
    """Each row as ``(line, {column: stripped text})``, every column present (an optional one left out is "").

    The header must name every column but the optional ones, and nothing else.
    The line is the one the row ends on (a quoted cell may span lines).
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in columns if name not in header and name not in optional]
    unknown = [name for name in header if name not in columns]
    if missing or unknown or not header:
        wrong = ", ".join([*(f"{name} is missing" for name in missing), *(f"{name!r} is unknown" for name in unknown)])
        raise ImportProblems([Problem(1, "header", f"{wrong or 'no header'}; the columns are {','.join(columns)}.")])
    reader.fieldnames = header
    for count, raw in enumerate(reader, start=1):
        if count > IMPORT_MAX_ROWS:
            message = f"the file has more than {IMPORT_MAX_ROWS:,} rows, the most one import takes; split it."
            raise ImportProblems([Problem(reader.line_num, "-", message)])
        if None in raw:  # more cells than the header has
            raise ImportProblems([Problem(reader.line_num, "-", "this line has more cells than the header.")])
        yield reader.line_num, {column: (raw.get(column) or "").strip() for column in columns}


def text_cell(row: Row, column: str, limit: int = NAME_LIMIT, *, required: bool = True) -> str:
    """A cell's text, inner runs of spaces made one; ``CellProblem`` if empty (when required), too long or not text."""
    value = " ".join(row.get(column, "").split())
    if required and not value:
        raise CellProblem(column, f"{column} is empty.")
    if len(value) > limit or CONTROL_CHARACTERS.search(value):
        raise CellProblem(column, f"{column} must be text of at most {limit} characters.")
    return value


def choice_cell(row: Row, column: str, allowed: Sequence[str], *, required: bool = True) -> str:
    """A cell that must be one of ``allowed`` (case aside)."""
    value = text_cell(row, column, 64, required=required).lower()
    if value and value not in allowed:
        raise CellProblem(column, f"unknown {column} {value!r}; one of: {', '.join(allowed)}.")
    return value
