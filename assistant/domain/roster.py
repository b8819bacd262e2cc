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
session by the same rules as the backend's API (``slot_window``: what
overlaps, how hours are cut into slots; ``people``: what a login may be),
checked against the database (unknown facility, overlaps with hours or slots
already there, a login id someone else has). Every problem names its line and
column; with any problem nothing is imported: the caller's transaction is
rolled back (``import_roster`` raises ``ImportProblems``).

The work is linear in rows: the file is checked in memory (rows of a
specialist sorted by day and time, so an overlap is found among neighbours,
not by comparing every pair); the database is read in a few bulk queries
(facilities, the specialists, their logins, hours and slots), and written in
bulk (the new hours' slots cut in one pass).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.core.rules import UPN, UPN_LENGTH, WORKER_ID
from assistant.core.vocabulary import SPECIALTIES
from assistant.db.models import Availability, Facility, Slot, Specialist, Worker
from assistant.domain import slot_window
from assistant.domain.csv_import import CellProblem, ImportProblems, Problem, Row, records, text_cell
from assistant.domain.hub_operations import HubError
from assistant.domain.people import InvalidPerson, add_worker, checked_person, new_worker
from assistant.domain.slot_window import WEEKDAYS, Hours, clock_text

COLUMNS = ("upn", "name", "specialty", "facility", "day", "start", "end", "slot_minutes", "login")
OPTIONAL_COLUMNS = ("slot_minutes", "login")
_SPECIALIST_COLUMNS = ("name", "specialty", "facility")


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
    def weekday(self) -> int:
        return self.day if isinstance(self.day, int) else self.day.weekday()

    @property
    def hours(self) -> Hours:
        assert isinstance(self.day, int)  # weekly rows only
        return Hours(self.day, self.start, self.end, self.slot_minutes)

    def __str__(self) -> str:
        day = WEEKDAYS[self.day] if isinstance(self.day, int) else self.day.isoformat()
        return f"{day} {clock_text(self.start)}-{clock_text(self.end)}"


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


def _day(value: str) -> int | dt.date:
    if value.lower() in WEEKDAYS:
        return WEEKDAYS.index(value.lower())
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CellProblem(
            "day", f"day must be one of {', '.join(WEEKDAYS)} or a date YYYY-MM-DD, not {value!r}."
        ) from None


def _row(line: int, raw: Row) -> RosterRow:
    upn = text_cell(raw, "upn", UPN_LENGTH)
    if not UPN.match(upn):
        raise CellProblem(
            "upn",
            f"upn {upn!r} is not a sign-in name like a.b@hospital.in: letters, digits, '.', '_', '-' or an "
            "apostrophe, one '@' and the domain; no spaces or other signs.",
        )
    specialty = text_cell(raw, "specialty", 64).lower()
    if specialty not in SPECIALTIES:
        raise CellProblem("specialty", f"unknown specialty {specialty!r}; valid: {', '.join(SPECIALTIES)}.")
    login = text_cell(raw, "login", 64, required=False).upper() or None
    if login is not None and not WORKER_ID.match(login):
        raise CellProblem("login", "login must be 1-64 letters, digits, '-', '_' or '.'.")
    try:
        start = slot_window.parse_clock(text_cell(raw, "start", 5), "start")
        end = slot_window.parse_clock(text_cell(raw, "end", 5), "end", end=True)
        slot_minutes = slot_window.parse_slot_minutes(text_cell(raw, "slot_minutes", 5, required=False))
        slot_window.check_span(start, end, slot_minutes)
    except HubError as exc:
        raise CellProblem(exc.field or "start", exc.message) from None
    return RosterRow(
        line=line,
        upn=upn,
        name=text_cell(raw, "name"),
        specialty=specialty,
        facility=text_cell(raw, "facility", 64),
        login=login,
        day=_day(text_cell(raw, "day", 10)),
        start=start,
        end=end,
        slot_minutes=slot_minutes,
    )


def _disagreements(rows: list[RosterRow]) -> Iterator[Problem]:
    """Rows of one specialist must say the same about them, and a login is one specialist's."""
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


def _overlaps(rows: list[RosterRow]) -> Iterator[Problem]:
    """Rows that would give one specialist two calls at once, each named on the later of its two lines.

    The rows of one specialist and weekday are swept in order of start: the
    rows still running at a row's start are the only ones it can overlap.
    Of those, one weekly row at most (two would overlap each other, and the
    later of them is reported instead of kept), and one dated row per date:
    so each row is compared with a handful, and the check is linear.
    """
    groups: dict[tuple[str, int], list[RosterRow]] = {}
    for row in rows:
        groups.setdefault((row.upn, row.weekday), []).append(row)
    for group in groups.values():
        running: dict[int | dt.date, RosterRow] = {}  # the weekday itself for the weekly row; a date for a dated one
        for row in sorted(group, key=lambda row: (row.start, row.line)):
            running = {day: other for day, other in running.items() if other.end > row.start}
            clashes = [other for day, other in running.items() if row.weekly or day in (row.day, row.weekday)]
            if clashes:
                earlier, later = sorted((min(clashes, key=lambda other: other.line), row), key=lambda r: r.line)
                yield Problem(later.line, "start", f"{later} overlaps {earlier} on line {earlier.line}.")
                if later is row:
                    continue
            running[row.day] = row


def parse_roster(text: str) -> list[RosterRow]:
    """The roster's rows, or ``ImportProblems`` listing every problem the file has on its own."""
    rows, problems = [], []
    for line, raw in records(text, COLUMNS, OPTIONAL_COLUMNS):
        try:
            rows.append(_row(line, raw))
        except CellProblem as problem:
            problems.append(Problem(line, problem.column, problem.message))
    problems += _disagreements(rows)
    problems += _overlaps(rows)
    if not rows and not problems:
        problems.append(Problem(1, "-", "the roster has no rows."))
    if problems:
        raise ImportProblems(problems)
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
    _check_login(worker, specialist)
    worker.name, worker.facility_id = specialist.name, specialist.facility_id  # the login follows its specialist
    return False


def _check_login(worker: Worker, specialist: Specialist) -> None:
    if worker.role != "specialist" or worker.specialist_id != specialist.id:
        raise ValueError(f"{worker.id} is already registered ({worker.role} {worker.name}).")


@dataclass
class _Known:
    """What the database holds that the roster's rows are checked against, read in bulk before any row."""

    facilities: set[str]
    specialists: dict[str, Specialist]  # by upn
    logins: dict[str, Worker]  # by id, the logins the roster names
    hours: dict[int, list[Availability]]  # by specialist id


async def _known(session: AsyncSession, rows: list[RosterRow]) -> _Known:
    facilities = set((await session.execute(select(Facility.id))).scalars())
    upns = {row.upn for row in rows}
    specialists = {
        specialist.upn: specialist
        for specialist in (await session.execute(select(Specialist).with_for_update())).scalars()
        if specialist.upn in upns
    }
    named = {row.login for row in rows if row.login is not None}
    logins = {
        worker.id: worker
        for worker in (await session.execute(select(Worker).where(Worker.role == "specialist"))).scalars()
        if worker.id in named
    }
    others = named - logins.keys()
    if others:  # an id someone else holds: read those few, to say whose it is
        logins.update(
            (worker.id, worker)
            for worker in (await session.execute(select(Worker).where(Worker.id.in_(sorted(others))))).scalars()
        )
    hours: dict[int, list[Availability]] = {}
    ids = {specialist.id for specialist in specialists.values()}
    for window in (await session.execute(select(Availability).order_by(Availability.id))).scalars():
        if window.specialist_id in ids:
            hours.setdefault(window.specialist_id, []).append(window)
    return _Known(facilities, specialists, logins, hours)


def _specialist(row: RosterRow, known: _Known, session: AsyncSession, report: RosterReport) -> Specialist:
    """The row's specialist, added or brought up to date (unsaved: flushed once for all)."""
    if row.facility not in known.facilities:
        raise CellProblem("facility", f"no facility {row.facility!r}.")
    specialist = known.specialists.get(row.upn)
    if specialist is None:
        specialist = Specialist(name=row.name, specialty=row.specialty, facility_id=row.facility, upn=row.upn)
        session.add(specialist)
        known.specialists[row.upn] = specialist
        report.added.append(f"added specialist {row.name} ({row.upn}, {row.specialty}, {row.facility})")
        return specialist
    changed = [column for column in _SPECIALIST_COLUMNS if _current(specialist, column) != getattr(row, column)]
    if changed:
        specialist.name, specialist.specialty, specialist.facility_id = row.name, row.specialty, row.facility
        report.added.append(f"updated specialist {row.upn}: {', '.join(changed)}")
    return specialist


def _current(specialist: Specialist, column: str) -> str:
    return str(specialist.facility_id if column == "facility" else getattr(specialist, column))


def _login(row: RosterRow, specialist: Specialist, known: _Known, session: AsyncSession, report: RosterReport) -> None:
    """The specialist's Hub desk sign-in, as ``ensure_login`` makes it, against the logins read in bulk."""
    assert row.login is not None
    worker = known.logins.get(row.login)
    if worker is None:
        try:
            person = checked_person(row.login, specialist.name, row.facility, "specialist")
        except InvalidPerson as exc:
            raise CellProblem("login", str(exc)) from None
        worker = new_worker(person)
        worker.specialist_id = specialist.id
        session.add(worker)
        report.added.append(f"added login {row.login} for {row.upn}")
        return
    try:
        _check_login(worker, specialist)
    except ValueError as exc:
        raise CellProblem("login", str(exc)) from None
    worker.name, worker.facility_id = specialist.name, specialist.facility_id


def _new_hours(row: RosterRow, specialist: Specialist, known: _Known) -> Hours | None:
    """The row's weekly hours if new; None if the specialist has exactly these; ``CellProblem`` if they overlap."""
    existing = known.hours.get(specialist.id, []) if specialist.id is not None else []
    for window in existing:
        hours = slot_window.hours_of(window)
        if hours == row.hours:
            return None
        if hours.overlaps(row.hours):
            raise CellProblem("start", f"{row.hours} overlaps the hours {hours} (id {window.id}).")
    return row.hours


async def apply_roster(
    session: AsyncSession, rows: list[RosterRow], timezone: str, now: dt.datetime
) -> tuple[RosterReport, list[Problem]]:
    """Make the roster's changes on ``session``; the problems found (if any, the caller must roll back)."""
    report, problems = RosterReport(), []
    known = await _known(session, rows)
    specialists: dict[str, Specialist | None] = {}
    firsts = []
    for row in rows:
        if row.upn in specialists:
            continue
        specialists[row.upn] = None  # if their first row fails, their other rows are not tried
        try:
            specialists[row.upn] = _specialist(row, known, session, report)
            firsts.append(row)
        except CellProblem as problem:
            problems.append(Problem(row.line, problem.column, problem.message))
    await session.flush()  # every specialist has an id now
    for row in firsts:
        specialist = specialists[row.upn]
        if row.login is not None and specialist is not None:
            try:
                _login(row, specialist, known, session, report)
            except CellProblem as problem:
                problems.append(Problem(row.line, problem.column, problem.message))
                specialists[row.upn] = None

    windows: list[tuple[RosterRow, Availability]] = []
    dated: list[tuple[RosterRow, Specialist]] = []
    for row in rows:
        specialist = specialists.get(row.upn)
        if specialist is None:
            continue
        if not row.weekly:
            dated.append((row, specialist))
            continue
        try:
            hours = _new_hours(row, specialist, known)
        except CellProblem as problem:
            problems.append(Problem(row.line, problem.column, problem.message))
            continue
        if hours is None:
            report.unchanged += 1
        else:
            windows.append((row, slot_window.new_window(specialist.id, hours, "roster")))
    session.add_all(window for _, window in windows)
    await session.flush()
    await _add_windows_slots(session, windows, timezone, now, report)
    problems += await _add_dated_slots(session, dated, timezone, now, report)
    return report, problems


async def _add_windows_slots(
    session: AsyncSession,
    windows: list[tuple[RosterRow, Availability]],
    timezone: str,
    now: dt.datetime,
    report: RosterReport,
) -> None:
    """Cut the new weekly hours into slots, all in one pass, and report each row's count."""
    if not windows:
        return
    ids = [window.id for _, window in windows]
    report.slots += await slot_window.generate_slots(session, timezone, now, availability_ids=ids)
    counted = select(Slot.availability_id, func.count()).where(Slot.availability_id.in_(ids))
    made = dict((await session.execute(counted.group_by(Slot.availability_id))).all())
    for row, window in windows:
        report.added.append(f"added hours {row} for {row.upn} ({made.get(window.id, 0)} slots)")


async def _add_dated_slots(
    session: AsyncSession,
    dated: list[tuple[RosterRow, Specialist]],
    timezone: str,
    now: dt.datetime,
    report: RosterReport,
) -> list[Problem]:
    """The dated rows' single slots: those already there are left alone, one overlapping another slot is a problem."""
    if not dated:
        return []
    zone = ZoneInfo(timezone)
    cuts = [(row, specialist, _future_spans(row, zone, now)) for row, specialist in dated]
    existing = await _slots_around(session, cuts)
    booked = {specialist_id: slot_window.Booked(spans) for specialist_id, spans in existing.items()}
    problems, new_rows = [], []
    for row, specialist, found in cuts:
        if not found:
            problems.append(Problem(row.line, "day", f"{row} has passed."))
            continue
        there = set(existing.get(specialist.id, ()))
        fresh = [span for span in found if span not in there]
        taken = booked.get(specialist.id, slot_window.Booked(()))
        clash = next((start for start, end in fresh if taken.overlaps(start, end)), None)
        if clash is not None:
            message = f"The specialist already has a slot at {clash.isoformat()}, or one overlapping it."
            problems.append(Problem(row.line, "start", message))
            continue
        if not fresh:
            report.unchanged += 1
            continue
        new_rows += [
            {"specialist_id": specialist.id, "starts_at": s, "ends_at": e, "availability_id": None} for s, e in fresh
        ]
        report.slots += len(fresh)
        report.added.append(f"added slots {row} for {row.upn} ({len(fresh)} slots)")
    await slot_window.insert_new_slots(session, new_rows)
    return problems


async def _slots_around(
    session: AsyncSession, cuts: list[tuple[RosterRow, Specialist, list[tuple[dt.datetime, dt.datetime]]]]
) -> dict[int, list[tuple[dt.datetime, dt.datetime]]]:
    """The slots the dated rows' specialists have between the earliest and the latest of those rows, in one query."""
    spans = [span for _, _, found in cuts for span in found]
    if not spans:
        return {}
    query = select(Slot.specialist_id, Slot.starts_at, Slot.ends_at).where(
        Slot.specialist_id.in_({specialist.id for _, specialist, _ in cuts}),
        Slot.ends_at > min(start for start, _ in spans),
        Slot.starts_at < max(end for _, end in spans),
    )
    existing: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}
    for specialist_id, starts_at, ends_at in await session.execute(query):
        existing.setdefault(specialist_id, []).append((starts_at, ends_at))
    return existing


def _future_spans(row: RosterRow, zone: ZoneInfo, now: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    assert isinstance(row.day, dt.date)  # a dated row
    return [
        (start, end)
        for start, end in slot_window.cut_day(row.day, row.start, row.end, row.slot_minutes, zone)
        if start >= now
    ]


async def import_roster(session: AsyncSession, text: str, timezone: str, now: dt.datetime) -> RosterReport:
    """Parse, check and apply a roster on ``session``; ``ImportProblems`` (roll back) if anything is wrong."""
    report, problems = await apply_roster(session, parse_roster(text), timezone, now)
    if problems:
        raise ImportProblems(problems)
    return report


__all__ = ["COLUMNS", "RosterReport", "RosterRow", "apply_roster", "ensure_login", "import_roster", "parse_roster"]
