"""Booking rules: which specialist and slot a consult request gets.

- routine:   earliest free slot of the specialty within 14 days
- urgent:    earliest free slot within 24 hours, else queued for the hub
- emergency: at once, with an on-call specialist, plus advice to call 108
- no slot:   stays ``requested`` with ``hub_queue`` set

Two requests can race for the same slot. The partial unique index on
``consults.slot_id`` makes the loser's update fail; it then tries the next
candidate inside a savepoint, so every request still gets a definite answer.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.core.db.models import SLOT_HOLDING_STATUSES, Consult, Slot, Specialist
from assistant.core.hub import teams_call_link

HORIZONS = {"routine": dt.timedelta(days=14), "urgent": dt.timedelta(hours=24)}
# A lost race (the unique index refused our claim) means: look again.
MAX_ATTEMPTS = 20


async def book(session: AsyncSession, consult: Consult, now: dt.datetime) -> None:
    """Schedule a freshly flushed ``requested`` consult if the rules allow."""
    if consult.urgency == "emergency":
        await _book_emergency(session, consult, now)
        return
    horizon = now + HORIZONS[consult.urgency]
    for _ in range(MAX_ATTEMPTS):
        slot = await _earliest_free_slot(session, consult.specialty, now, horizon)
        if slot is None:
            break
        if await _claim(session, consult, slot):
            return
    consult.hub_queue = True
    await session.flush()


async def _earliest_free_slot(
    session: AsyncSession, specialty: str, start: dt.datetime, end: dt.datetime
) -> Slot | None:
    taken = (
        select(Consult.id).where(and_(Consult.slot_id == Slot.id, Consult.status.in_(SLOT_HOLDING_STATUSES))).exists()
    )
    query = (
        select(Slot)
        .join(Specialist, Specialist.id == Slot.specialist_id)
        .where(Specialist.specialty == specialty, Slot.starts_at >= start, Slot.starts_at < end, ~taken)
        .order_by(Slot.starts_at, Slot.id)
        .limit(1)
    )
    if session.bind.dialect.name == "postgresql":
        # Concurrent bookings each lock one slot and skip the ones others
        # are claiming, instead of all queueing on the earliest. (SQLite
        # serialises writers, so there is nothing to skip.)
        query = query.with_for_update(skip_locked=True, of=Slot)
    return (await session.execute(query)).unique().scalar_one_or_none()


async def _claim(session: AsyncSession, consult: Consult, slot: Slot) -> bool:
    try:
        async with session.begin_nested():
            await session.execute(
                update(Consult)
                .where(Consult.id == consult.id)
                .values(
                    status="scheduled",
                    slot_id=slot.id,
                    specialist_id=slot.specialist_id,
                    scheduled_for=slot.starts_at,
                    call_link=teams_call_link(slot.specialist.upn),
                )
                .execution_options(synchronize_session=False)
            )
    except IntegrityError:
        return False
    await session.refresh(consult)
    return True


async def _book_emergency(session: AsyncSession, consult: Consult, now: dt.datetime) -> None:
    specialist = await _least_busy_on_call(session, consult.specialty, now)
    if specialist is None:
        consult.hub_queue = True
        await session.flush()
        return
    consult.status = "scheduled"
    consult.specialist_id = specialist.id
    consult.scheduled_for = now
    consult.call_link = teams_call_link(specialist.upn)
    await session.flush()
    await session.refresh(consult)


async def _least_busy_on_call(session: AsyncSession, specialty: str, now: dt.datetime) -> Specialist | None:
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
        .where(Specialist.specialty == specialty)
        .order_by(Specialist.on_call.desc(), recent_emergencies, Specialist.id)
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()
