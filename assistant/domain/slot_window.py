"""Specialists' weekly hours, and the bookable slots cut from them ``SLOT_WINDOW_DAYS`` ahead.

A specialist's weekly hours are ``Availability`` rows: a weekday, a local
``[start, end)`` and a slot length. ``generate_slots`` is the one rule that
turns them into ``Slot`` rows: each window is cut in ``slot_minutes`` steps on
each of its weekdays, from now to ``days`` ahead (future starts only). The
backend runs it when it starts, hourly, and for a window the moment it is
added, so every day that comes into the window gets its slots.

It never makes a slot twice, nor one the specialist did not ask for:

- a start the specialist has already, or a slot overlapping one they have (a
  booked slot kept from hours since removed, a single slot added by hand), is
  skipped: one specialist, one call at a time;
- only starts after the window's latest slot are cut, so a slot taken away by
  hand (the specialist is away that afternoon) is not made again an hour later
  (unless it was the window's very last one: no column remembers it);
- two backends generating at once both insert with ``ON CONFLICT DO NOTHING``
  on ``uq_slot_specialist_start``: the second skips what the first made.

Removing hours or a slot never touches a slot a consult holds (the partial
unique index on ``consults.slot_id`` and the foreign key keep it); the slots
to be removed are locked first, so a booking racing the removal either wins
the slot (and it is kept) or finds it gone.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.core.rules import SLOT_HOLDING_STATUSES, SLOT_MINUTES_RANGE, SLOT_WINDOW_DAYS
from assistant.db.engine import Database
from assistant.db.models import Availability, Consult, Slot, Specialist, utcnow
from assistant.domain.hub_operations import HubError
from assistant.domain.records import iso

log = logging.getLogger(__name__)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_SLOT_MINUTES = 30
DAY_MINUTES = 24 * 60
CLOCK_PATTERN = r"^(\d{1,2}):(\d{2})$"  # a local time HH:MM (also what the API publishes)
_CLOCK = re.compile(CLOCK_PATTERN)
# Rows per INSERT: well inside SQLite's limit on bound parameters.
_INSERT_BATCH = 200


# --- Values -----------------------------------------------------------------------


def parse_weekday(value: Any, field: str = "weekday") -> int:
    """0 (Monday) to 6, or ``"mon"`` to ``"sun"``."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(WEEKDAYS):
        return value
    if isinstance(value, str) and value.strip().lower() in WEEKDAYS:
        return WEEKDAYS.index(value.strip().lower())
    last = len(WEEKDAYS) - 1
    raise HubError("invalid", f"{field} must be 0 (Monday) to {last}, or one of {', '.join(WEEKDAYS)}.", field=field)


def parse_clock(value: Any, field: str, *, end: bool = False) -> int:
    """Minutes after local midnight of ``"HH:MM"``; an end may be ``"24:00"`` (hours until midnight)."""
    match = _CLOCK.match(value.strip()) if isinstance(value, str) else None
    minutes = int(match[1]) * 60 + int(match[2]) if match and int(match[2]) < 60 else -1
    if not 0 <= minutes < DAY_MINUTES + (1 if end else 0):
        raise HubError("invalid", f"{field} must be a local time HH:MM, for example 09:30.", field=field)
    return minutes


def clock_text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_slot_minutes(value: Any, field: str = "slot_minutes") -> int:
    if value is None or value == "":
        return DEFAULT_SLOT_MINUTES
    low, high = SLOT_MINUTES_RANGE
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise HubError("invalid", f"{field} must be a whole number of minutes, {low} to {high}.", field=field)
    return value


@dataclass(frozen=True)
class Hours:
    """One weekly window: ``weekday``, local ``[start, end)`` in minutes after midnight, cut in ``slot_minutes``."""

    weekday: int
    start: int
    end: int
    slot_minutes: int = DEFAULT_SLOT_MINUTES

    def overlaps(self, other: Hours) -> bool:
        return self.weekday == other.weekday and self.start < other.end and other.start < self.end

    def __str__(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {clock_text(self.start)}-{clock_text(self.end)}"


def parse_hours(weekday: Any, start: Any, end: Any, slot_minutes: Any = None) -> Hours:
    """Weekly hours from what a caller sent; ``HubError("invalid", field=...)`` says what is wrong."""
    hours = Hours(
        parse_weekday(weekday),
        parse_clock(start, "start"),
        parse_clock(end, "end", end=True),
        parse_slot_minutes(slot_minutes),
    )
    check_span(hours.start, hours.end, hours.slot_minutes)
    return hours


def check_span(start: int, end: int, slot_minutes: int) -> None:
    if end <= start:
        raise HubError("invalid", f"end {clock_text(end)} must be after start {clock_text(start)}.", field="end")
    if end - start < slot_minutes:
        message = f"{clock_text(start)}-{clock_text(end)} is too short for one {slot_minutes}-minute slot."
        raise HubError("invalid", message, field="end")


def hours_of(window: Availability) -> Hours:
    return Hours(
        int(window.weekday),
        parse_clock(window.start_time, "start"),
        parse_clock(window.end_time, "end", end=True),
        int(window.slot_minutes),
    )


def new_window(specialist_id: int, hours: Hours, created_by: str | None) -> Availability:
    return Availability(
        specialist_id=specialist_id,
        weekday=hours.weekday,
        start_time=clock_text(hours.start),
        end_time=clock_text(hours.end),
        slot_minutes=hours.slot_minutes,
        created_by=created_by,
    )


def hours_json(window: Availability) -> dict[str, Any]:
    return {
        "id": window.id,
        "specialist_id": window.specialist_id,
        "weekday": window.weekday,
        "start": window.start_time,
        "end": window.end_time,
        "slot_minutes": window.slot_minutes,
    }


def cut_day(
    day: dt.date, start: int, end: int, slot_minutes: int, zone: ZoneInfo
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """Local ``day``'s ``[start, end)`` cut in ``slot_minutes`` steps, in UTC; a part-slot at the end is left out."""
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    for offset in range(start, end - slot_minutes + 1, slot_minutes):
        begins = midnight + dt.timedelta(minutes=offset)  # wall-clock arithmetic: local times, whatever the offset
        ends = begins + dt.timedelta(minutes=slot_minutes)
        yield begins.astimezone(dt.timezone.utc), ends.astimezone(dt.timezone.utc)


# --- Generating -------------------------------------------------------------------


class Booked:
    """A specialist's slots, to tell whether a new one would overlap any (bisect on starts, running max of ends)."""

    def __init__(self, spans: Iterable[tuple[dt.datetime, dt.datetime]]) -> None:
        ordered = sorted(spans)
        self.starts = [start for start, _ in ordered]
        self.max_end: list[dt.datetime] = []
        for _, end in ordered:
            self.max_end.append(max(end, self.max_end[-1]) if self.max_end else end)

    def overlaps(self, start: dt.datetime, end: dt.datetime) -> bool:
        before_end = bisect.bisect_left(self.starts, end) - 1  # the last slot starting before ``end``
        return before_end >= 0 and self.max_end[before_end] > start


async def _booked(
    session: AsyncSession, specialist_ids: Iterable[int], start: dt.datetime, end: dt.datetime
) -> dict[int, Booked]:
    rows = await session.execute(
        select(Slot.specialist_id, Slot.starts_at, Slot.ends_at).where(
            Slot.specialist_id.in_(list(specialist_ids)), Slot.ends_at > start, Slot.starts_at < end
        )
    )
    spans: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}
    for specialist_id, starts_at, ends_at in rows:
        spans.setdefault(specialist_id, []).append((starts_at, ends_at))
    return {specialist_id: Booked(found) for specialist_id, found in spans.items()}


async def insert_new_slots(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Insert slot rows, skipping any whose (specialist, start) exists, even one a concurrent writer just made."""
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    added = 0
    for first in range(0, len(rows), _INSERT_BATCH):
        statement = (
            insert(Slot.__table__)
            .values(list(rows[first : first + _INSERT_BATCH]))
            .on_conflict_do_nothing(index_elements=["specialist_id", "starts_at"])
        )
        added += (await session.execute(statement)).rowcount or 0
    return added


async def generate_slots(
    session: AsyncSession,
    timezone: str,
    now: dt.datetime,
    days: int = SLOT_WINDOW_DAYS,
    *,
    availability_id: int | None = None,
    availability_ids: Collection[int] | None = None,
) -> int:
    """Cut every window (or only ``availability_id``, or ``availability_ids``) into slots, ``now`` to ``days`` ahead.

    Returns how many slots it made.
    """
    zone = ZoneInfo(timezone)
    until = now + dt.timedelta(days=days)
    query = select(Availability).order_by(Availability.id)
    if availability_id is not None:
        availability_ids = [availability_id]
    if availability_ids is not None:
        query = query.where(Availability.id.in_(list(availability_ids)))
    windows = list((await session.execute(query)).scalars())
    if not windows:
        return 0
    latest = dict(
        (
            await session.execute(
                select(Slot.availability_id, func.max(Slot.starts_at))
                .where(Slot.availability_id.in_([window.id for window in windows]))
                .group_by(Slot.availability_id)
            )
        ).all()
    )
    booked = await _booked(session, {window.specialist_id for window in windows}, now, until)
    first_day, last_day = now.astimezone(zone).date(), until.astimezone(zone).date()
    days_ahead = [first_day + dt.timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    rows = []
    for window in windows:
        hours = hours_of(window)
        cut_up_to = latest.get(window.id)  # this window's slots up to here exist, or were taken away by hand
        taken = booked.get(window.specialist_id, Booked(()))
        for day in days_ahead:
            if day.weekday() != hours.weekday:
                continue
            for start, end in cut_day(day, hours.start, hours.end, hours.slot_minutes, zone):
                if start < now or start >= until or (cut_up_to is not None and start <= cut_up_to):
                    continue
                if not taken.overlaps(start, end):
                    rows.append(_slot_row(window, start, end))
    return await insert_new_slots(session, rows)


def _slot_row(window: Availability, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    return {"specialist_id": window.specialist_id, "starts_at": start, "ends_at": end, "availability_id": window.id}


async def top_up_slots(db: Database, timezone: str, now: dt.datetime | None = None) -> int:
    """``generate_slots`` in a transaction of its own: what the backend runs at start and hourly."""
    async with db.write() as session:
        added = await generate_slots(session, timezone, now or utcnow())
    if added:
        log.info("cut %d new slots from the weekly hours", added)
    return added


# --- Changing the hours -------------------------------------------------------------


def _held_by() -> Any:
    """The consult holding each slot (``SLOT_HOLDING_STATUSES``), as a correlated subquery on ``Slot``."""
    return (
        select(Consult.id)
        .where(Consult.slot_id == Slot.id, Consult.status.in_(SLOT_HOLDING_STATUSES))
        .limit(1)
        .scalar_subquery()
    )


async def _lock_specialist(session: AsyncSession, specialist_id: int) -> Specialist:
    """The specialist, row-locked on PostgreSQL, so two changes to their hours or slots check and write in turn."""
    specialist = (
        await session.execute(select(Specialist).where(Specialist.id == specialist_id).with_for_update())
    ).scalar_one_or_none()
    if specialist is None:
        raise HubError("not_found", "No such specialist.", field="specialist_id")
    return specialist


async def windows_of(session: AsyncSession, specialist_id: int) -> list[Availability]:
    query = select(Availability).where(Availability.specialist_id == specialist_id)
    return list((await session.execute(query.order_by(Availability.weekday, Availability.start_time))).scalars())


async def add_hours(
    session: AsyncSession, specialist_id: int, hours: Hours, created_by: str | None, timezone: str, now: dt.datetime
) -> tuple[Availability, int]:
    """Add weekly hours and cut their slots at once; overlapping hours of that day are a conflict."""
    await _lock_specialist(session, specialist_id)
    for window in await windows_of(session, specialist_id):
        if hours_of(window).overlaps(hours):
            raise HubError("conflict", f"{hours} overlaps the hours {hours_of(window)} (id {window.id}).")
    window = new_window(specialist_id, hours, created_by)
    session.add(window)
    await session.flush()
    return window, await generate_slots(session, timezone, now, availability_id=window.id)


async def _release(session: AsyncSession, slot_ids: list[int]) -> None:
    """Consults that once had these slots (cancelled since) let go of them, keeping their other details as they were."""
    if slot_ids:
        await session.execute(
            update(Consult)
            .where(Consult.slot_id.in_(slot_ids))
            .values(slot_id=None, updated_at=Consult.updated_at)
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            Slot.__table__.delete().where(Slot.id.in_(slot_ids)).execution_options(synchronize_session=False)
        )


async def remove_hours(session: AsyncSession, window: Availability, now: dt.datetime) -> dict[str, Any]:
    """Remove weekly hours and their future free slots; a held slot stays booked, and the answer lists it."""
    future = (
        await session.execute(
            select(Slot.id, Slot.starts_at, _held_by())
            .where(Slot.availability_id == window.id, Slot.starts_at >= now)
            .order_by(Slot.starts_at)
            .with_for_update(of=Slot)
        )
    ).all()
    free = [slot_id for slot_id, _, consult_id in future if consult_id is None]
    kept = [
        {"id": slot_id, "start": iso(start), "consult_id": consult_id}
        for slot_id, start, consult_id in future
        if consult_id is not None
    ]
    await _release(session, free)
    # What is left (past slots, held ones) is a slot of its own now: the hours it came from are gone.
    await session.execute(
        update(Slot)
        .where(Slot.availability_id == window.id)
        .values(availability_id=None)
        .execution_options(synchronize_session=False)
    )
    await session.delete(window)
    await session.flush()
    return {"id": window.id, "slots_removed": len(free), "slots_kept": len(kept), "kept": kept}


# --- Single slots -------------------------------------------------------------------


async def add_slot(
    session: AsyncSession, specialist_id: int, start: dt.datetime, minutes: int, now: dt.datetime
) -> Slot:
    """One slot outside the weekly hours; a past start, or an overlap with the specialist's slots, is refused."""
    if start < now:
        raise HubError("invalid", "That time has passed; a slot must start in the future.", field="start")
    await _lock_specialist(session, specialist_id)
    end = start + dt.timedelta(minutes=minutes)
    booked = await _booked(session, [specialist_id], start, end)
    if specialist_id in booked:
        raise HubError("conflict", f"The specialist already has a slot at {iso(start)}, or one overlapping it.")
    slot = Slot(specialist_id=specialist_id, starts_at=start, ends_at=end, availability_id=None)
    try:
        async with session.begin_nested():
            session.add(slot)
    except IntegrityError:  # another writer made that slot just now
        raise HubError("conflict", f"The specialist already has a slot starting at {iso(start)}.") from None
    await session.refresh(slot)
    return slot


async def remove_slot(session: AsyncSession, slot: Slot) -> None:
    """Remove a free slot; one a consult holds is a conflict (the hub reschedules or cancels the consult first)."""
    row = (
        await session.execute(select(Slot.id, _held_by()).where(Slot.id == slot.id).with_for_update(of=Slot))
    ).one_or_none()
    if row is None:
        raise HubError("not_found", "No such slot.")
    if row[1] is not None:
        raise HubError("conflict", f"Consult {row[1]} holds this slot; reschedule or cancel it first.")
    await _release(session, [slot.id])
