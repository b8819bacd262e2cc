"""A programme's people, imported from CSV (``assistant workers import``), all or nothing.

The header names the columns, in any order (``phone`` and ``language`` may
be left out, and either may be empty on a row)::

    id,name,role,facility_id,phone,language

``role`` is one of ``PEOPLE_ROLES``, ``phone`` a number in international form
(E.164, ``+919812345678``), ``language`` ``en`` or ``hi``. What a person may
be is checked by ``people.checked_person``, as for ``assistant worker add``
and the console's People page. A person is added, or updated by ``id`` (name,
role, facility, phone, language; each change audited); one exactly as in the
file is left alone, so importing a file again changes nothing.

Nobody is deactivated unless asked (``deactivate_missing``): then the active
people of the facilities the file names who are not in it are deactivated,
and listed. Only those facilities: one district's file never touches
another's people. Admins, and the specialists' Hub desk logins (the
roster's), are never deactivated by an import, and an import never
re-activates anyone (``assistant worker activate`` does, on purpose).

The database is read once (facilities, people, phones), the file checked in
memory, the changes written in bulk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.core.phones import phone_digits
from assistant.core.vocabulary import LANGUAGES, PEOPLE_ROLES
from assistant.db.models import Facility, Worker
from assistant.domain.change_audit import change_text, record_changes
from assistant.domain.csv_import import CellProblem, ImportProblems, Problem, Row, choice_cell, records, text_cell
from assistant.domain.people import InvalidPerson, Person, checked_person, new_worker

COLUMNS = ("id", "name", "role", "facility_id", "phone", "language")
OPTIONAL_COLUMNS = ("phone", "language")
FIELDS = ("name", "role", "facility_id", "phone", "language")  # what a row sets
# Never deactivated by an import: the programme's admins, and the specialists' logins (kept by the roster).
KEPT_ROLES = ("admin",)


@dataclass(frozen=True)
class PersonRow:
    line: int
    person: Person


@dataclass
class PeopleReport:
    """What an import did (or, in a dry run, would do). ``new`` lists the people added, for their PINs."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unchanged: int = 0
    new: list[Person] = field(default_factory=list)

    def lines(self) -> list[str]:
        total = f"{len(self.added)} added, {len(self.changed)} changed, {self.unchanged} unchanged"
        if self.deactivated:
            total += f", {len(self.deactivated)} deactivated"
        return [*self.added, *self.changed, *self.deactivated, *self.notes, total]


# --- Parsing ------------------------------------------------------------------------


def _row(line: int, raw: Row) -> PersonRow:
    try:
        person = checked_person(
            text_cell(raw, "id", 64).upper(),  # ids are upper-case, as `assistant worker add` makes them
            text_cell(raw, "name"),
            text_cell(raw, "facility_id", 64),
            choice_cell(raw, "role", PEOPLE_ROLES),
            phone=text_cell(raw, "phone", 40, required=False) or None,
            language=choice_cell(raw, "language", LANGUAGES, required=False) or None,
        )
    except InvalidPerson as exc:
        raise CellProblem(exc.field, str(exc) + ".") from None
    return PersonRow(line, person)


def parse_people(text: str) -> list[PersonRow]:
    """The file's rows, or ``ImportProblems`` listing every problem the file has on its own."""
    rows: list[PersonRow] = []
    problems: list[Problem] = []
    ids: dict[str, int] = {}
    phones: dict[str, int] = {}
    for line, raw in records(text, COLUMNS, OPTIONAL_COLUMNS):
        try:
            row = _row(line, raw)
        except CellProblem as problem:
            problems.append(Problem(line, problem.column, problem.message))
            continue
        person = row.person
        if person.id in ids:
            problems.append(Problem(line, "id", f"{person.id} is on line {ids[person.id]} already."))
            continue
        ids[person.id] = line
        if person.phone is not None:
            first = phones.setdefault(phone_digits(person.phone), line)
            if first != line:
                problems.append(Problem(line, "phone", f"this phone number is on line {first} already."))
                continue
        rows.append(row)
    if not rows and not problems:
        problems.append(Problem(1, "-", "the file has no people."))
    if problems:
        raise ImportProblems(problems)
    return rows


# --- Checking and applying ----------------------------------------------------------


def _changes(worker: Worker, person: Person) -> list[tuple[str, object, object]]:
    return [
        (name, getattr(worker, name), getattr(person, name))
        for name in FIELDS
        if getattr(worker, name) != getattr(person, name)
    ]


def _told(name: str, value: object) -> object:
    """A value as the report and the audit tell it: a phone by its last four digits only."""
    return f"…{str(value)[-4:]}" if name == "phone" and value else value


def _check(row: PersonRow, facilities: set[str], stored: dict[str, Worker], phones: dict[str, str]) -> None:
    person = row.person
    if person.facility_id not in facilities:
        raise CellProblem("facility_id", f"no facility {person.facility_id!r}.")
    if person.phone is not None:
        owner = phones.get(phone_digits(person.phone))
        if owner is not None and owner != person.id:
            raise CellProblem("phone", f"this phone number is registered to {owner} already.")
    worker = stored.get(person.id)
    if worker is not None and worker.specialist_id is not None and person.role != worker.role:
        raise CellProblem("role", f"{person.id} is a specialist's Hub desk login: the roster keeps it.")


async def import_people(
    session: AsyncSession, text: str, actor: str, command: str, *, deactivate_missing: bool = False
) -> PeopleReport:
    """Parse, check and apply the file on ``session``; ``ImportProblems`` (roll back) if anything is wrong."""
    rows = parse_people(text)
    facilities = set((await session.execute(select(Facility.id))).scalars())
    stored = {worker.id: worker for worker in (await session.execute(select(Worker))).scalars()}
    phones = {phone_digits(worker.phone): worker.id for worker in stored.values() if worker.phone}
    problems = []
    for row in rows:
        try:
            _check(row, facilities, stored, phones)
        except CellProblem as problem:
            problems.append(Problem(row.line, problem.column, problem.message))
    if problems:
        raise ImportProblems(problems)

    report = PeopleReport()
    audit: list[tuple[str, str]] = []
    for row in rows:
        person, worker = row.person, stored.get(row.person.id)
        if worker is None:
            session.add(new_worker(person))
            report.new.append(person)
            report.added.append(f"added {person.role} {person.id} ({person.name}, {person.facility_id})")
            audit.append(("worker_added", f"person {person.id}: {person.role} at {person.facility_id}"))
            continue
        changes = _changes(worker, person)
        if not worker.active:
            report.notes.append(f"{person.id} is deactivated and stays so (assistant worker activate {person.id})")
        if not changes:
            report.unchanged += 1
            continue
        for name, old, value in changes:
            setattr(worker, name, value)
            audit.append(
                ("worker_changed", change_text(f"person {person.id}", name, _told(name, old), _told(name, value)))
            )
        told = [
            change_text(f"changed {person.id}", name, _told(name, old), _told(name, value))
            for name, old, value in changes
        ]
        report.changed.append("; ".join(told))
    if deactivate_missing:
        for worker in _missing(rows, stored):
            worker.active = False
            report.deactivated.append(f"deactivated {worker.id} ({worker.role} {worker.name}, {worker.facility_id})")
            audit.append(("worker_deactivated", f"person {worker.id}: not in the imported file"))
    await session.flush()
    record_changes(session, actor, command, audit)
    return report


def _missing(rows: list[PersonRow], stored: dict[str, Worker]) -> list[Worker]:
    """The active people of the file's facilities who are not in it (admins and specialists' logins kept)."""
    listed = {row.person.id for row in rows}
    covered = {row.person.facility_id for row in rows}
    return sorted(
        (
            worker
            for worker in stored.values()
            if worker.active
            and worker.facility_id in covered
            and worker.id not in listed
            and worker.role not in KEPT_ROLES
            and worker.specialist_id is None
        ),
        key=lambda worker: (worker.facility_id, worker.id),
    )
