"""A programme's facilities and hubs, imported from CSV (``assistant facilities import``), all or nothing.

The header names the columns, in any order (``district`` may be left out)::

    id,name,kind,parent_id,hub_id,district

``kind`` is one of ``FACILITY_KINDS``. A facility is served by the hub it
names in ``hub_id``, or else by its parent's hub, and so on up
(``facilities.serving_hubs``); a hub serves itself and names no ``hub_id``.
``parent_id`` and ``hub_id`` may name a facility in the same file or one
already in the database, and ``hub_id`` only a hub. A ``district`` left
empty is the parent's. Every facility of the file must end up served by a
hub, and none may be its own ancestor.

A facility is added, or updated by ``id`` (each changed field audited,
``change_audit``); one exactly as in the file is left alone, so importing a
file again changes nothing. Facilities are never removed by an import. The
database is read once, the file checked in memory, and the changes written
in bulk, then every facility's hub recomputed (``refresh_hubs``) in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.core.rules import DISTRICT_LIMIT
from assistant.core.vocabulary import FACILITY_KINDS
from assistant.db.models import Facility
from assistant.domain.change_audit import change_text, record_changes
from assistant.domain.csv_import import CellProblem, ImportProblems, Problem, Row, choice_cell, records, text_cell
from assistant.domain.facilities import HUB, InvalidFacility, Place, check_facility, refresh_hubs, serving_hubs

COLUMNS = ("id", "name", "kind", "parent_id", "hub_id", "district")
OPTIONAL_COLUMNS = ("district",)
FIELDS = ("name", "kind", "district", "parent_id", "hub_id")  # what a row sets, in the order changes are told


@dataclass(frozen=True)
class FacilityRow:
    line: int
    id: str
    name: str
    kind: str
    parent_id: str | None
    hub_id: str | None
    district: str | None  # None: the parent's

    @property
    def place(self) -> Place:
        return Place(self.kind, self.parent_id, self.hub_id)


@dataclass
class FacilityReport:
    """What an import did (or, in a dry run, would do)."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0

    def lines(self) -> list[str]:
        total = f"{len(self.added)} added, {len(self.changed)} changed, {self.unchanged} unchanged"
        return [*self.added, *self.changed, total]


# --- Parsing ------------------------------------------------------------------------


def _row(line: int, raw: Row) -> FacilityRow:
    row = FacilityRow(
        line=line,
        id=text_cell(raw, "id", 64),
        name=text_cell(raw, "name"),
        kind=choice_cell(raw, "kind", FACILITY_KINDS),
        parent_id=text_cell(raw, "parent_id", 64, required=False) or None,
        hub_id=text_cell(raw, "hub_id", 64, required=False) or None,
        district=text_cell(raw, "district", DISTRICT_LIMIT, required=False) or None,
    )
    try:
        check_facility(row.id, row.name, row.kind, row.district or "-")
    except InvalidFacility as exc:
        raise CellProblem(exc.field, str(exc) + ".") from None
    if row.kind == HUB and row.hub_id is not None:
        raise CellProblem("hub_id", f"{row.id} is a hub: a hub serves itself and names no hub_id.")
    if row.parent_id == row.id:
        raise CellProblem("parent_id", f"{row.id} cannot be its own parent.")
    return row


def parse_facilities(text: str) -> list[FacilityRow]:
    """The file's rows, or ``ImportProblems`` listing every problem the file has on its own."""
    rows: list[FacilityRow] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for line, raw in records(text, COLUMNS, OPTIONAL_COLUMNS):
        try:
            row = _row(line, raw)
        except CellProblem as problem:
            problems.append(Problem(line, problem.column, problem.message))
            continue
        if row.id in seen:
            problems.append(Problem(line, "id", f"{row.id} is on line {seen[row.id]} already."))
            continue
        seen[row.id] = line
        rows.append(row)
    if not rows and not problems:
        problems.append(Problem(1, "-", "the file has no facilities."))
    if problems:
        raise ImportProblems(problems)
    return rows


# --- Checking against the database --------------------------------------------------


@dataclass
class _Plan:
    """The facilities as they would be after the import: the database's, with the file's rows over them."""

    stored: dict[str, Facility]
    rows: dict[str, FacilityRow]
    places: dict[str, Place]
    districts: dict[str, str | None]

    @classmethod
    def of(cls, stored: dict[str, Facility], rows: list[FacilityRow]) -> _Plan:
        by_id = {row.id: row for row in rows}
        places = {facility_id: Place(f.kind, f.parent_id, f.hub_id) for facility_id, f in stored.items()}
        places.update((row.id, row.place) for row in rows)
        districts: dict[str, str | None] = {facility_id: f.district for facility_id, f in stored.items()}
        districts.update((row.id, row.district) for row in rows)
        return cls(stored, by_id, places, districts)


def _references(plan: _Plan) -> Iterator[Problem]:
    """Each parent and hub a row names exists (in the file or the database), and each hub is one."""
    for row in plan.rows.values():
        if row.parent_id is not None and row.parent_id not in plan.places:
            yield Problem(row.line, "parent_id", f"no facility {row.parent_id!r}, in this file or already imported.")
        if row.hub_id is not None:
            hub = plan.places.get(row.hub_id)
            if hub is None:
                yield Problem(row.line, "hub_id", f"no facility {row.hub_id!r}, in this file or already imported.")
            elif hub.kind != HUB:
                yield Problem(row.line, "hub_id", f"{row.hub_id} is a {hub.kind}, not a hub.")
    naming: dict[str, str] = {}  # a hub -> one facility already imported that names it, and is not in the file
    for facility_id, facility in plan.stored.items():
        if facility.hub_id is not None and facility_id not in plan.rows:
            naming.setdefault(facility.hub_id, facility_id)
    for row in plan.rows.values():
        if row.kind != HUB and row.id in naming:
            yield Problem(row.line, "kind", f"{row.id} is the hub {naming[row.id]} names: it stays a hub.")


def _loops(plan: _Plan) -> Iterator[Problem]:
    """A row whose parents lead back to it: each walk up is done once for all the facilities on it."""
    settled: set[str] = set()  # known to reach the top (or a missing parent, reported apart)
    for row in plan.rows.values():
        path: list[str] = []
        current: str | None = row.id
        while current is not None and current not in settled and current in plan.places:
            if current in path:
                loop = path[path.index(current) :]
                for at, member in enumerate(loop):  # each row on the loop, the loop told from it
                    if member in plan.rows:
                        chain = " -> ".join([*loop[at:], *loop[:at], member])
                        yield Problem(plan.rows[member].line, "parent_id", f"the parents go round in a loop: {chain}.")
                break
            path.append(current)
            current = plan.places[current].parent_id
        settled.update(path)


def _district(plan: _Plan, facility_id: str) -> str | None:
    """A facility's district: its own, or the nearest parent's (None: none on the way up)."""
    seen: set[str] = set()
    current: str | None = facility_id
    while current is not None and current not in seen:
        seen.add(current)
        if plan.districts.get(current):
            return plan.districts[current]
        place = plan.places.get(current)
        current = place.parent_id if place is not None else None
    return None


def _unserved(plan: _Plan, hubs: dict[str, str | None]) -> Iterator[Problem]:
    """Every facility of the file is served by a hub, and none already served loses its hub through the file."""
    for row in plan.rows.values():
        if hubs.get(row.id) is None:
            yield Problem(
                row.line, "hub_id", f"no hub serves {row.id}: name a hub in hub_id, or a parent that a hub serves."
            )
    for facility_id, facility in plan.stored.items():
        if facility_id not in plan.rows and facility.served_by is not None and hubs.get(facility_id) is None:
            ancestor = _nearest_row(plan, facility_id)
            line = plan.rows[ancestor].line if ancestor else 1
            message = f"{facility_id} (already imported, under {ancestor}) would be served by no hub."
            yield Problem(line, "hub_id", message)


def _nearest_row(plan: _Plan, facility_id: str) -> str | None:
    seen: set[str] = set()
    current: str | None = facility_id
    while current is not None and current not in seen:
        seen.add(current)
        if current in plan.rows:
            return current
        place = plan.places.get(current)
        current = place.parent_id if place is not None else None
    return None


def check_plan(plan: _Plan) -> tuple[dict[str, str], list[Problem]]:
    """Each row's district, and every problem of the file against the database."""
    problems = [*_references(plan), *_loops(plan)]
    if problems:  # hubs and districts are not worth resolving through a broken tree
        return {}, problems
    hubs = serving_hubs(plan.places)
    problems += _unserved(plan, hubs)
    districts: dict[str, str] = {}
    for row in plan.rows.values():
        district = _district(plan, row.id)
        if district is None:
            problems.append(Problem(row.line, "district", "district is empty, and no parent has one to take."))
        else:
            districts[row.id] = district
    return districts, problems


# --- Applying -----------------------------------------------------------------------


def _in_insert_order(rows: list[FacilityRow], new: set[str]) -> list[FacilityRow]:
    """New facilities with their parent and hub before them, so every foreign key holds as each is inserted."""
    by_id = {row.id: row for row in rows}
    ordered: list[FacilityRow] = []
    placed: set[str] = set()
    for row in rows:
        stack = [row]
        while stack:
            top = stack[-1]
            waiting = [
                by_id[ref] for ref in (top.parent_id, top.hub_id) if ref in new and ref not in placed and ref != top.id
            ]
            waiting = [ref for ref in waiting if ref not in stack]  # a loop is refused before this
            if top.id in placed:
                stack.pop()
            elif waiting:
                stack.extend(waiting)
            else:
                placed.add(top.id)
                ordered.append(top)
                stack.pop()
    return [row for row in ordered if row.id in new]


async def import_facilities(session: AsyncSession, text: str, actor: str, command: str) -> FacilityReport:
    """Parse, check and apply the file on ``session``; ``ImportProblems`` (roll back) if anything is wrong."""
    rows = parse_facilities(text)
    stored = {facility.id: facility for facility in (await session.execute(select(Facility))).scalars()}
    plan = _Plan.of(stored, rows)
    districts, problems = check_plan(plan)
    if problems:
        raise ImportProblems(problems)

    report = FacilityReport()
    audit: list[tuple[str, str]] = []
    new = {row.id for row in rows if row.id not in stored}
    for row in _in_insert_order(rows, new):
        session.add(
            Facility(
                id=row.id,
                name=row.name,
                kind=row.kind,
                district=districts[row.id],
                parent_id=row.parent_id,
                hub_id=row.hub_id,
            )
        )
        report.added.append(f"added {row.kind} {row.id} ({row.name}, {districts[row.id]})")
        audit.append(("facility_added", f"facility {row.id}: {row.kind} {row.name}"))
    await session.flush()  # the new facilities exist before any old one names them as parent or hub

    for row in rows:
        facility = stored.get(row.id)
        if facility is None:
            continue
        wanted = {**{name: getattr(row, name) for name in FIELDS}, "district": districts[row.id]}
        changes = [
            (name, getattr(facility, name), value) for name, value in wanted.items() if getattr(facility, name) != value
        ]
        if not changes:
            report.unchanged += 1
            continue
        for name, old, value in changes:
            setattr(facility, name, value)
            audit.append(("facility_changed", change_text(f"facility {row.id}", name, old, value)))
        report.changed.append(
            "; ".join(change_text(f"changed {row.id}", name, old, value) for name, old, value in changes)
        )
    await session.flush()
    await refresh_hubs(session)
    record_changes(session, actor, command, audit)
    return report


async def facility_table(session: AsyncSession) -> list[Facility]:
    """Every facility, those of one hub together (the hubs first, each before what it serves), then by id."""
    facilities = list((await session.execute(select(Facility))).scalars())
    return sorted(facilities, key=lambda f: (f.served_by or "~", f.kind != HUB, f.id))
