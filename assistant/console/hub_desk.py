"""What the Hub desk page shows: the queue, free slots to offer, and specialists' day lists.

Everything is read through ``assistant.domain.hub_operations``, which also decides who
sees what (``HubActor``, fed with the viewer's scope); this module only
shapes it for the page: waiting times in words, vitals on one line, slot
choices grouped by specialist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.console.access import Viewer
from assistant.core.rules import SLOT_HOLDING_STATUSES, VITAL_RANGES
from assistant.core.vocabulary import SPECIALTIES
from assistant.db.models import Consult, Facility, Specialist, Worker
from assistant.domain import hub_operations, tasks
from assistant.domain.facilities import HUB

# How far ahead the assign and reschedule forms offer free slots: enough for the
# next working days, few enough that each consult's list stays short.
SLOT_CHOICE_DAYS = 3
VITAL_LABELS = {
    "temperature_c": "temperature",
    "pulse": "pulse",
    "spo2": "SpO2",
    "weight_kg": "weight",
    "respiratory_rate": "respiratory rate",
}


@dataclass(frozen=True)
class SpecialistInfo:
    id: int
    name: str
    specialty: str


@dataclass(frozen=True)
class SlotChoice:
    id: int
    start: dt.datetime


@dataclass
class SpecialistSlots:
    name: str
    slots: list[SlotChoice] = field(default_factory=list)


@dataclass
class DayList:
    specialist: SpecialistInfo
    consults: list[dict[str, Any]]


@dataclass
class Desk:
    day: dt.date
    queue: list[dict[str, Any]] | None  # None: not a desk role (a specialist sees only their list)
    day_lists: list[DayList]
    specialists: list[SpecialistInfo]  # the coordinator's choice of day list; empty for a specialist
    chosen: int | None
    slot_choices: dict[str, list[SpecialistSlots]]  # by specialty
    names: dict[str, str]  # worker and facility ids -> names, for the queue
    other_hubs: list[tuple[str, str]] = field(default_factory=list)  # (id, name): where a consult can be referred
    # The specialties the coordinator's hub has anyone for (None: every hub's, an admin's desk); a queued
    # consult of another specialty can only be referred.
    specialties_here: frozenset[str] | None = None


def actor(who: Viewer) -> hub_operations.HubActor:
    return hub_operations.HubActor(who.worker_id, who.role, who.specialist_id, who.hub_id)


def waited(seconds: int) -> str:
    """ "waiting 2 h 5 min": minutes stop mattering once a consult has waited for days."""
    minutes = seconds // 60
    if minutes < 1:
        return "waiting under a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d"] if days else []
    if hours:
        parts.append(f"{hours} h")
    if minutes and not days:
        parts.append(f"{minutes} min")
    return "waiting " + " ".join(parts)


def moment(value: str | None) -> dt.datetime | None:
    """A time as ``assistant.domain.records`` writes it (ISO-8601 UTC with ``Z``)."""
    return None if value is None else dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def vitals_line(vitals: Mapping[str, Any]) -> str:
    """ "BP 140/90 mmHg · temperature 38.3 °C · pulse 88 beats/min", leaving out what was not taken."""
    parts = []
    if vitals.get("systolic_bp") is not None and vitals.get("diastolic_bp") is not None:
        parts.append(f"BP {vitals['systolic_bp']:g}/{vitals['diastolic_bp']:g} {VITAL_RANGES['systolic_bp'][2]}")
    for name, label in VITAL_LABELS.items():
        if vitals.get(name) is not None:
            parts.append(f"{label} {vitals[name]:g} {VITAL_RANGES[name][2]}")
    return " · ".join(parts)


def specialty_name(code: str) -> str:
    return SPECIALTIES.get(code, {}).get("en", code)


async def slot_choices(
    session: AsyncSession, specialties: Iterable[str], now: dt.datetime, hub: str | None
) -> dict[str, list[SpecialistSlots]]:
    """Free slots of each specialty at ``hub`` (every hub: ``None``) over the next days, grouped by specialist."""
    choices: dict[str, list[SpecialistSlots]] = {}
    for specialty in sorted(set(specialties)):
        grouped: dict[int, SpecialistSlots] = {}
        free = await hub_operations.slots(
            session, start=now, end=now + dt.timedelta(days=SLOT_CHOICE_DAYS), specialty=specialty, hub=hub
        )
        for slot in free:
            start = moment(slot["start"])
            if start is not None:
                grouped.setdefault(slot["specialist_id"], SpecialistSlots(slot["specialist_name"])).slots.append(
                    SlotChoice(slot["id"], start)
                )
        choices[specialty] = sorted(grouped.values(), key=lambda group: group.name)
    return choices


async def _specialists(
    session: AsyncSession, *, only: int | None = None, hub: str | None = None
) -> list[SpecialistInfo]:
    """The specialists of ``hub`` (every hub: ``None``), or the one with id ``only``."""
    query = select(Specialist.id, Specialist.name, Specialist.specialty).order_by(Specialist.name, Specialist.id)
    if only is not None:
        query = query.where(Specialist.id == only)
    if hub is not None:
        query = query.join(Facility, Facility.id == Specialist.facility_id).where(Facility.served_by == hub)
    return [SpecialistInfo(*row) for row in (await session.execute(query)).all()]


async def _names(session: AsyncSession, consults: list[dict[str, Any]]) -> dict[str, str]:
    workers = {consult["requested_by"] for consult in consults}
    facilities = {consult["facility_id"] for consult in consults}
    names: dict[str, str] = {}
    if workers:
        names.update((await session.execute(select(Worker.id, Worker.name).where(Worker.id.in_(workers)))).all())
    if facilities:
        names.update(
            (await session.execute(select(Facility.id, Facility.name).where(Facility.id.in_(facilities)))).all()
        )
    return names


async def load(
    session: AsyncSession,
    who: Viewer,
    day: dt.date,
    chosen: int | None,
    now: dt.datetime,
    timezone: str,
    today: dt.date | None = None,
) -> Desk:
    """The desk as ``who`` may see it: a coordinator's queue and every specialist's list, or a specialist's own.

    Each consult of a day list carries ``follow_ups``: how the tasks it left stand (``today`` decides
    what is overdue), or ``None`` when it left none.
    """
    acting = actor(who)
    queue: list[dict[str, Any]] | None = None
    specialists: list[SpecialistInfo] = []
    if acting.is_desk:
        queue = await hub_operations.queue(session, acting, now)
        specialists = await _specialists(session, hub=acting.desk_hub())
        shown = [person for person in specialists if chosen is None or person.id == chosen]
    else:
        shown = await _specialists(session, only=who.specialist_id) if who.specialist_id is not None else []
    day_lists = []
    for person in shown:
        consults = await hub_operations.day_list(session, acting, person.id, day, timezone)
        await with_follow_ups(session, consults, today or day)
        # Of all the specialists, the desk lists those with consults that day (or the one asked for).
        if consults or chosen is not None or not acting.is_desk:
            day_lists.append(DayList(person, consults))
    choices: dict[str, list[SpecialistSlots]] = {}
    if acting.is_desk:
        wanted = [consult["specialty"] for consult in queue or []]
        wanted += [consult["specialty"] for block in day_lists for consult in block.consults]
        choices = await slot_choices(session, wanted, now, acting.desk_hub())
    names = await _names(session, queue or [])
    hubs = await _other_hubs(session, acting.hub_id) if acting.is_desk else []
    here = frozenset(person.specialty for person in specialists) if acting.role == "coordinator" else None
    return Desk(day, queue, day_lists, specialists, chosen, choices, names, hubs, here)


async def with_follow_ups(session: AsyncSession, consults: list[dict[str, Any]], today: dt.date) -> None:
    """Add to each consult how its follow-up tasks stand (``assistant.domain.tasks.follow_ups_of``)."""
    found = await tasks.follow_ups_of(session, [consult["id"] for consult in consults], today)
    for consult in consults:
        consult["follow_ups"] = found.get(consult["id"])


async def _other_hubs(session: AsyncSession, own: str | None) -> list[tuple[str, str]]:
    query = select(Facility.id, Facility.name).where(Facility.kind == HUB).order_by(Facility.name)
    return [(hub_id, name) for hub_id, name in (await session.execute(query)).all() if hub_id != own]


async def assigned_in(
    session: AsyncSession, specialist_id: int, sender: str, since: float, until: float | None
) -> bool:
    """Whether ``sender`` asked, between ``since`` and ``until`` (Unix time), for a consult now assigned to
    ``specialist_id`` and not cancelled: what opens that conversation to the specialist."""
    query = select(Consult.id).where(
        Consult.specialist_id == specialist_id,
        Consult.status.in_(SLOT_HOLDING_STATUSES),
        Consult.requested_by == sender,
        # A record names its conversation only by its author; anything else was planted.
        Consult.conversation_id == sender,
        Consult.created_at >= dt.datetime.fromtimestamp(since, dt.timezone.utc),
    )
    if until is not None:
        query = query.where(Consult.created_at < dt.datetime.fromtimestamp(until, dt.timezone.utc))
    return (await session.execute(query.limit(1))).first() is not None
