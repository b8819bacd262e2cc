"""Booking rules: which specialist and slot a consult request gets.

- routine:   earliest free slot of the specialty within ``BOOKING_HORIZONS["routine"]`` (14 days)
- urgent:    earliest free slot within ``BOOKING_HORIZONS["urgent"]`` (24 hours), else queued for the hub
- emergency: at once, with an on-call specialist, plus advice to call 108 (``assistant.core.emergency_advice``)
- no slot:   stays ``requested`` with ``hub_queue`` set, and ``queue_reason`` says why (``no_slot``;
  ``no_specialist`` when the hub has nobody of the specialty at all; ``no_hub`` when no hub serves the facility)

Only specialists of the hub that serves the requesting facility (``consult.hub_id``,
``assistant.domain.facilities``) are ever chosen: a consult never lands on another
hub's specialist unless a coordinator refers it there (``hub_operations.refer``).

The consult is inserted once, already holding the slot it gets: one SELECT
for the slot and one INSERT, with no UPDATE and no re-read after it. Two
requests can race for the same slot only on PostgreSQL (SQLite writers take
turns, and the search runs inside the write transaction). There the partial
unique index on ``consults.slot_id`` decides: the loser's INSERT says
``ON CONFLICT ... DO NOTHING`` and so inserts nothing (after waiting for the
winner to commit), and the loser looks again; every request still gets a
definite answer, without a savepoint's two extra round trips.

The hot statements are Core statements on the tables, built once, with the
values as parameters: on this path composing a statement and loading ORM
objects cost more than SQLite's own work.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, text
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import TextClause

from assistant.core.rules import BOOKING_HORIZONS
from assistant.db.models import SLOT_HOLDING_STATUSES, Consult, Facility, Slot, Specialist
from assistant.domain.hub_operations import teams_call_link

# A lost race (the unique index refused our claim) means: look again.
MAX_ATTEMPTS = 20

_slots: Table = Slot.__table__
_specialists: Table = Specialist.__table__
_consults: Table = Consult.__table__
_facilities: Table = Facility.__table__
# The columns a consult's JSON shows of its specialist (``consult_json``).
_SPECIALIST_FIELDS = ("id", "name", "specialty", "upn", "facility_id")

# The statuses are written into the SQL, not bound: only then can the database see that the partial
# unique index on consults.slot_id (``WHERE status IN (...)``) covers the search; with bound values
# each candidate slot scanned every scheduled consult.
_HOLDING = bindparam("holding", list(SLOT_HOLDING_STATUSES), expanding=True, literal_execute=True)
_TAKEN = select(_consults.c.id).where(_consults.c.slot_id == _slots.c.id, _consults.c.status.in_(_HOLDING)).exists()
_EARLIEST_FREE_SLOT = (
    select(
        _slots.c.id.label("slot_id"),
        _slots.c.starts_at,
        *(_specialists.c[name].label(f"specialist_{name}") for name in _SPECIALIST_FIELDS),
    )
    .join_from(_slots, _specialists, _specialists.c.id == _slots.c.specialist_id)
    .join(_facilities, _facilities.c.id == _specialists.c.facility_id)
    .where(
        _facilities.c.served_by == bindparam("hub"),
        _specialists.c.specialty == bindparam("specialty"),
        _slots.c.starts_at >= bindparam("start", type_=_slots.c.starts_at.type),
        _slots.c.starts_at < bindparam("end", type_=_slots.c.starts_at.type),
        ~_TAKEN,
    )
    .order_by(_slots.c.starts_at, _slots.c.id)
    .limit(1)
)
# Concurrent bookings each lock one slot and skip the ones others are claiming,
# instead of all queueing on the earliest. (SQLite serialises writers, so there is nothing to skip.)
_EARLIEST_FREE_SLOT_SKIP_LOCKED = _EARLIEST_FREE_SLOT.with_for_update(skip_locked=True, of=_slots)
_INSERT_CONSULT = insert(_consults)


def _insert_unless_held() -> TextClause:
    """PostgreSQL: insert a consult unless its slot is held, and return its id (no row: it was held).

    The conflict target is the partial unique index's own column and predicate,
    so PostgreSQL infers that index. Written as text because SQLAlchemy 1.4
    does not cache its ``on_conflict_do_nothing`` construct, and compiling it
    for every booking cost more than the savepoint it saves.
    """
    columns = [column for column in _consults.c if column.key != "id"]
    holding = ", ".join(f"'{status}'" for status in SLOT_HOLDING_STATUSES)  # our own constants
    sql = (
        f"INSERT INTO {_consults.name} ({', '.join(column.name for column in columns)}) "
        f"VALUES ({', '.join(':' + column.key for column in columns)}) "
        f"ON CONFLICT ({_consults.c.slot_id.name}) WHERE {_consults.c.status.name} IN ({holding}) DO NOTHING "
        f"RETURNING {_consults.c.id.name}"
    )
    return (
        text(sql).bindparams(*(bindparam(column.key, type_=column.type) for column in columns)).columns(_consults.c.id)
    )


_INSERT_CONSULT_UNLESS_HELD = _insert_unless_held()


async def book(session: AsyncSession, consult: Consult, now: dt.datetime) -> None:
    """Schedule a new ``requested`` consult if the rules allow, and insert it.

    ``consult`` is not in the session, and stays out of it: it is inserted as
    one row, and afterwards carries its id, its times and its specialist, all
    its JSON needs (``consult_json``).
    """
    consult.hub_queue = False
    consult.queue_reason = None
    consult.created_at = consult.updated_at = now
    if consult.hub_id is None:
        await _queue(session, consult, "no_hub")
        return
    if consult.urgency == "emergency":
        await _book_emergency(session, consult, now)
        return
    horizon = now + BOOKING_HORIZONS[consult.urgency]
    for _ in range(MAX_ATTEMPTS):
        slot = await _earliest_free_slot(session, consult, now, horizon)
        if slot is None:
            break
        if await _insert_holding(session, consult, slot):
            return
    await _queue(session, consult, await _why_waiting(session, consult))


async def _queue(session: AsyncSession, consult: Consult, reason: str) -> None:
    """Insert the consult into its hub's queue, saying why (the worker is told; the desk sees it)."""
    consult.hub_queue = True
    consult.queue_reason = reason
    await _insert(session, consult)


async def _why_waiting(session: AsyncSession, consult: Consult) -> str:
    """``no_specialist`` when the hub has nobody of the specialty at all, else ``no_slot``."""
    anyone = (
        select(Specialist.id)
        .join(Facility, Facility.id == Specialist.facility_id)
        .where(Facility.served_by == consult.hub_id, Specialist.specialty == consult.specialty)
        .limit(1)
    )
    return "no_slot" if (await session.execute(anyone)).first() is not None else "no_specialist"


def _on_postgresql(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"


async def _earliest_free_slot(
    session: AsyncSession, consult: Consult, start: dt.datetime, end: dt.datetime
) -> RowMapping | None:
    """The consult hub's earliest free slot (``slot_id``, ``starts_at``), with ``specialist_<field>``s."""
    query = _EARLIEST_FREE_SLOT_SKIP_LOCKED if _on_postgresql(session) else _EARLIEST_FREE_SLOT
    values = {"hub": consult.hub_id, "specialty": consult.specialty, "start": start, "end": end}
    result = await session.execute(query, values)
    return result.mappings().one_or_none()


def _row(consult: Consult) -> dict[str, Any]:
    return {column.key: getattr(consult, column.key) for column in _consults.c if column.key != "id"}


async def _insert(session: AsyncSession, consult: Consult) -> None:
    consult.id = (await session.execute(_INSERT_CONSULT, _row(consult))).inserted_primary_key[0]


def _schedule(consult: Consult, specialist: Specialist, starts_at: dt.datetime, slot_id: int | None) -> None:
    consult.status = "scheduled"
    consult.slot_id = slot_id
    consult.specialist_id = specialist.id
    consult.specialist = specialist  # for the JSON; setting it on a consult outside the session loads nothing
    consult.scheduled_for = starts_at
    consult.call_link = teams_call_link(specialist.upn)


def _unschedule(consult: Consult) -> None:
    consult.status = "requested"
    consult.slot_id = consult.specialist_id = consult.scheduled_for = consult.call_link = None
    consult.specialist = None


async def _insert_holding(session: AsyncSession, consult: Consult, slot: RowMapping) -> bool:
    """Insert the consult holding ``slot``; False when another booking took it first (PostgreSQL)."""
    specialist = Specialist(**{name: slot[f"specialist_{name}"] for name in _SPECIALIST_FIELDS})
    _schedule(consult, specialist, slot["starts_at"], slot["slot_id"])
    if not _on_postgresql(session):
        await _insert(session, consult)
        return True
    inserted = (await session.execute(_INSERT_CONSULT_UNLESS_HELD, _row(consult))).scalar_one_or_none()
    if inserted is None:
        _unschedule(consult)  # the next attempt, or the hub queue, starts from a plain request
        return False
    consult.id = inserted
    return True


async def _book_emergency(session: AsyncSession, consult: Consult, now: dt.datetime) -> None:
    specialist = await _least_busy_on_call(session, consult, now)
    if specialist is None:
        await _queue(session, consult, "no_specialist")
        return
    _schedule(consult, specialist, now, None)
    await _insert(session, consult)


async def _least_busy_on_call(session: AsyncSession, consult: Consult, now: dt.datetime) -> Specialist | None:
    """On-call first, then anyone of the specialty; fewest emergencies in the last day wins."""
    recent_emergencies = (
        select(func.count(Consult.id))
        .where(
            Consult.specialist_id == Specialist.id,
            Consult.urgency == "emergency",
            Consult.created_at >= now - dt.timedelta(days=1),
        )
        .scalar_subquery()
    )
    query = (
        select(Specialist)
        .join(Facility, Facility.id == Specialist.facility_id)
        .where(Specialist.specialty == consult.specialty, Facility.served_by == consult.hub_id)
        .order_by(Specialist.on_call.desc(), recent_emergencies, Specialist.id)
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()
