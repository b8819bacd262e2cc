"""A roster of specialists and their hours, imported from CSV (``assistant roster import``), all or nothing.

The header names the columns (in any order; ``slot_minutes`` and ``login`` may
be left out)::

    upn,name,specialty,facility,day,start,end,slot_minutes,login

Each row is one stretch of hours. ``day`` is ``mon`` ... ``sun`` for weekly
hours (cut into slots ``SLOT_WINDOW_DAYS`` ahead, like hours added on the Hub
desk) or a date ``YYYY-MM-DD`` for single slots on that date, cut from
``start`` to ``end``. A specialist is created, or updated (name, specialty,
facility), by ``upn``; ``login`` gives them a Hub desk sign-in (a worker with
role ``specialist``). Hours or slots already there exactly as given are left
alone, so importing the same file again adds nothing.

``parse_roster`` checks the file on its own (values, rows of one specialist
agreeing, overlaps within the file); ``apply_roster`` makes the changes on a
session through the same operations as the backend's API, which check them
against the database (unknown facility, overlaps with hours or slots already
there, a login id someone else has). Every problem names its line and
column; with any problem nothing is imported: the caller's transaction is
rolled back (``import_roster`` raises ``RosterError``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.core.rules import CONTROL_CHARACTERS, UPN, UPN_LENGTH, WORKER_ID
from assistant.core.vocabulary import SPECIALTIES
from assistant.db.models import Facility, Slot, Specialist, Worker
from assistant.domain import slot_window
from assistant.domain.hub_operations import HubError
from assistant.domain.people import MAX_NAME, add_worker
from assistant.domain.slot_window import WEEKDAYS, Hours, clock_text

COLUMNS = ("upn", "name", "specialty", "facility", "day", "start", "end", "slot_minutes", "login")
OPTIONAL_COLUMNS = ("slot_minutes", "login")
# The operations' field names, as the roster's columns call them.
_COLUMN_OF_FIELD = {"weekday": "day", "specialist_id": "upn"}
_SPECIALIST_COLUMNS = ("name", "specialty", "facility")


@dataclass(frozen=True)
class Problem:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


class RosterError(Exception):
    """What is wrong with a roster, each problem with its line and column; nothing was imported."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


class _RowProblem(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column, self.message = column, message


@dataclass(frozen=True)
class RosterRow:
    line: int
    upn: str
    name: str
    specialty: str
    facility: str
    login: str | None
    day: int | dt.date  # a weekday (weekly hours) or a date (single slots)
    start: int  # minutes after local midnight
    end: int
    slot_minutes: int

    @property
    def weekly(self) -> bool:
        return isinstance(self.day, int)

    @property
    def hours(self) -> Hours:
        assert isinstance(self.day, int)  # weekly rows only
        return Hours(self.day, self.start, self.end, self.slot_minutes)

    def overlaps(self, other: RosterRow) -> bool:
        """Whether the two rows would give the same specialist two calls at once."""
        if self.upn != other.upn or not (self.start < other.end and other.start < self.end):
            return False
        return _weekday(self.day) == _weekday(other.day) if self.weekly or other.weekly else self.day == other.day

    def __str__(self) -> str:
        day = WEEKDAYS[self.day] if isinstance(self.day, int) else self.day.isoformat()
        return f"{day} {clock_text(self.start)}-{clock_text(self.end)}"


def _weekday(day: int | dt.date) -> int:
    return day if isinstance(day, int) else day.weekday()


@dataclass
class RosterReport:
    """What an import added (or, in a dry run, would add)."""

    added: list[str] = field(default_factory=list)
    unchanged: int = 0  # rows whose hours or slots were there already
    slots: int = 0

    def lines(self) -> list[str]:
        total = f"{len(self.added)} changes, {self.slots} slots"
        return [*self.added, f"{total}; {self.unchanged} rows already in place"]


# --- Parsing ------------------------------------------------------------------------


def _text(raw: dict[str, str | None], column: str, limit: int = MAX_NAME, *, required: bool = True) -> str:
    value = " ".join((raw.get(column) or "").split())
    if required and not value:
        raise _RowProblem(column, f"{column} is empty.")
    if len(value) > limit or CONTROL_CHARACTERS.search(value):
        raise _RowProblem(column, f"{column} must be text of at most {limit} characters.")
    return value


def _day(value: str) -> int | dt.date:
    if value.lower() in WEEKDAYS:
        return WEEKDAYS.index(value.lower())
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _RowProblem(
            "day", f"day must be one of {', '.join(WEEKDAYS)} or a date YYYY-MM-DD, not {value!r}."
        ) from None


def _row(line: int, raw: dict[str, str | None]) -> RosterRow:
    upn = _text(raw, "upn", UPN_LENGTH)
    if not UPN.match(upn):
        raise _RowProblem(
            "upn",
            f"upn {upn!r} is not a sign-in name like a.b@hospital.in: letters, digits, '.', '_', '-' or an "
            "apostrophe, one '@' and the domain; no spaces or other signs.",
        )
    specialty = _text(raw, "specialty", 64).lower()
    if specialty not in SPECIALTIES:
        raise _RowProblem("specialty", f"unknown specialty {specialty!r}; valid: {', '.join(SPECIALTIES)}.")
    login = _text(raw, "login", 64, required=False).upper() or None
    if login is not None and not WORKER_ID.match(login):
        raise _RowProblem("login", "login must be 1-64 letters, digits, '-', '_' or '.'.")
    try:
        start = slot_window.parse_clock(_text(raw, "start", 5), "start")
        end = slot_window.parse_clock(_text(raw, "end", 5), "end", end=True)
        slot_minutes = slot_window.parse_slot_minutes(_text(raw, "slot_minutes", 5, required=False))
        slot_window.check_span(start, end, slot_minutes)
    except HubError as exc:
        raise _RowProblem(exc.field or "start", exc.message) from None
    return RosterRow(
        line=line,
        upn=upn,
        name=_text(raw, "name"),
        specialty=specialty,
        facility=_text(raw, "facility", 64),
        login=login,
        day=_day(_text(raw, "day", 10)),
        start=start,
        end=end,
        slot_minutes=slot_minutes,
    )


def _records(text: str) -> Iterator[tuple[int, dict[str, str | None]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in COLUMNS if name not in header and name not in OPTIONAL_COLUMNS]
    unknown = [name for name in header if name not in COLUMNS]
    if missing or unknown:
        wrong = ", ".join([*(f"{name} is missing" for name in missing), *(f"{name!r} is unknown" for name in unknown)])
        raise RosterError([Problem(1, "header", f"{wrong}; the columns are {','.join(COLUMNS)}.")])
    reader.fieldnames = header
    for raw in reader:
        if None in raw:  # more cells than the header has
            raise RosterError([Problem(reader.line_num, "-", "this line has more cells than the header.")])
        yield reader.line_num, raw  # the line the row ends on (a quoted cell may span lines)


def _disagreements(rows: list[RosterRow]) -> Iterator[Problem]:
    """Rows of one specialist must say the same about them, a login is one specialist's, hours must not overlap."""
    first: dict[str, RosterRow] = {}
    login_given: dict[str, RosterRow] = {}  # upn -> the row that gave its login
    login_owner: dict[str, RosterRow] = {}  # login -> the row of the specialist it is
    for row in rows:
        earlier = first.setdefault(row.upn, row)
        for column in _SPECIALIST_COLUMNS:
            if getattr(row, column) != getattr(earlier, column):
                said = getattr(earlier, column)
                yield Problem(row.line, column, f"{row.upn} has {column} {said!r} on line {earlier.line}.")
        if row.login is not None:
            given = login_given.setdefault(row.upn, row)
            owner = login_owner.setdefault(row.login, row)
            if given.login != row.login:
                yield Problem(row.line, "login", f"{row.upn} has login {given.login} on line {given.line}.")
            elif owner.upn != row.upn:
                yield Problem(row.line, "login", f"login {row.login} is {owner.upn}'s on line {owner.line}.")
        clash = next((other for other in rows if other.line < row.line and row.overlaps(other)), None)
        if clash is not None:
            yield Problem(row.line, "start", f"{row} overlaps {clash} on line {clash.line}.")


def parse_roster(text: str) -> list[RosterRow]:
    """The roster's rows, or ``RosterError`` listing every problem the file has on its own."""
    rows, problems = [], []
    for line, raw in _records(text):
        try:
            rows.append(_row(line, raw))
        except _RowProblem as problem:
            problems.append(Problem(line, problem.column, problem.message))
    problems += _disagreements(rows)
    if not rows and not problems:
        problems.append(Problem(1, "-", "the roster has no rows."))
    if problems:
        raise RosterError(sorted(problems, key=lambda problem: problem.line))
    # A login given on one of a specialist's rows is theirs on every row.
    logins = {row.upn: row.login for row in reversed(rows) if row.login is not None}
    return [replace(row, login=logins.get(row.upn)) for row in rows]


# --- Applying -----------------------------------------------------------------------


async def ensure_login(session: AsyncSession, worker_id: str, specialist: Specialist) -> bool:
    """The specialist's Hub desk sign-in: made if missing (returns True); ``ValueError`` if the id is someone else's."""
    worker = await session.get(Worker, worker_id)
    if worker is None:
        await add_worker(session, worker_id, specialist.name, specialist.facility_id, role="specialist")
        worker = await session.get(Worker, worker_id)
        worker.specialist_id = specialist.id
        await session.flush()
        return True
    if worker.role != "specialist" or worker.specialist_id != specialist.id:
        raise ValueError(f"{worker_id} is already registered ({worker.role} {worker.name}).")
    worker.name, worker.facility_id = specialist.name, specialist.facility_id  # the login follows its specialist
    return False


async def _specialist(session: AsyncSession, row: RosterRow, report: RosterReport) -> Specialist:
    if await session.get(Facility, row.facility) is None:
        raise _RowProblem("facility", f"no facility {row.facility!r}.")
    specialist = (await session.execute(select(Specialist).where(Specialist.upn == row.upn))).scalar_one_or_none()
    if specialist is None:
        specialist = Specialist(name=row.name, specialty=row.specialty, facility_id=row.facility, upn=row.upn)
        session.add(specialist)
        await session.flush()
        report.added.append(f"added specialist {row.name} ({row.upn}, {row.specialty}, {row.facility})")
    else:
        changed = [column for column in _SPECIALIST_COLUMNS if _current(specialist, column) != getattr(row, column)]
        if changed:
            specialist.name, specialist.specialty, specialist.facility_id = row.name, row.specialty, row.facility
            await session.flush()
            report.added.append(f"updated specialist {row.upn}: {', '.join(changed)}")
    if row.login is not None:
        try:
            if await ensure_login(session, row.login, specialist):
                report.added.append(f"added login {row.login} for {row.upn}")
        except ValueError as exc:
            raise _RowProblem("login", str(exc)) from None
    return specialist


def _current(specialist: Specialist, column: str) -> str:
    return str(specialist.facility_id if column == "facility" else getattr(specialist, column))


async def _add_hours(
    session: AsyncSession, specialist: Specialist, row: RosterRow, timezone: str, now: dt.datetime
) -> int | None:
    """The slots the row's weekly hours made, or None if the specialist has exactly these hours already."""
    existing = [slot_window.hours_of(window) for window in await slot_window.windows_of(session, specialist.id)]
    if row.hours in existing:
        return None
    _, slots = await slot_window.add_hours(session, specialist.id, row.hours, "roster", timezone, now)
    return slots


async def _add_slots(
    session: AsyncSession, specialist: Specialist, row: RosterRow, timezone: str, now: dt.datetime
) -> int | None:
    """The single slots the dated row made, or None if the specialist has all of them already."""
    assert isinstance(row.day, dt.date)  # a dated row
    cut = slot_window.cut_day(row.day, row.start, row.end, row.slot_minutes, ZoneInfo(timezone))
    spans = [(start, end) for start, end in cut if start >= now]
    if not spans:
        raise _RowProblem("day", f"{row} has passed.")
    added = 0
    for start, end in spans:
        same = select(Slot.id).where(Slot.specialist_id == specialist.id, Slot.starts_at == start, Slot.ends_at == end)
        if (await session.execute(same)).first() is None:
            await slot_window.add_slot(session, specialist.id, start, row.slot_minutes, now)
            added += 1
    return added or None


async def apply_roster(
    session: AsyncSession, rows: list[RosterRow], timezone: str, now: dt.datetime
) -> tuple[RosterReport, list[Problem]]:
    """Make the roster's changes on ``session``; the problems found (if any, the caller must roll back)."""
    report, problems = RosterReport(), []
    specialists: dict[str, Specialist | None] = {}
    for row in rows:
        try:
            if row.upn not in specialists:
                specialists[row.upn] = None  # if their first row fails, their other rows are not tried
                specialists[row.upn] = await _specialist(session, row, report)
            specialist = specialists[row.upn]
            if specialist is None:
                continue
            add = _add_hours if row.weekly else _add_slots
            slots = await add(session, specialist, row, timezone, now)
            if slots is None:
                report.unchanged += 1
                continue
            report.slots += slots
            report.added.append(f"added {'hours' if row.weekly else 'slots'} {row} for {row.upn} ({slots} slots)")
        except _RowProblem as problem:
            problems.append(Problem(row.line, problem.column, problem.message))
        except HubError as exc:
            column = _COLUMN_OF_FIELD.get(exc.field or "start", exc.field or "start")
            problems.append(Problem(row.line, column, exc.message))
    return report, problems


async def import_roster(session: AsyncSession, text: str, timezone: str, now: dt.datetime) -> RosterReport:
    """Parse, check and apply a roster on ``session``; ``RosterError`` (roll back) if anything is wrong."""
    report, problems = await apply_roster(session, parse_roster(text), timezone, now)
    if problems:
        raise RosterError(problems)
    return report
