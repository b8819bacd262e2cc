"""The hub desk's operations on consults, shared by the backend's API and the console's Hub desk page.

Coordinators take the queue (consults still ``requested``), assign them to a
free slot, reschedule or cancel them; the assigned specialist (or a
coordinator) completes them with advice or marks a no-show. Every change
writes a ``HubNotice`` for the worker who asked, in the same transaction
(the worker outbox; ``assistant.domain.consult_notices`` says what it says).

Each change is one conditional UPDATE on the consult's current state, so two
coordinators assigning the same consult, or an assign racing the worker's
cancel, end with exactly one winner; the loser gets ``HubConflict``. The
partial unique index on ``consults.slot_id`` still guarantees that no slot is
ever held twice: a lost race for a slot is ``HubConflict`` too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from assistant.core.rules import (
    ADVICE_LIMIT,
    ASSIGNABLE_STATUSES,
    CANCELLABLE_STATUSES,
    CLOSABLE_STATUSES,
    CONTROL_CHARACTERS,
    HUB_REASON_LIMIT,
    REFERABLE_STATUSES,
    RESCHEDULABLE_STATUSES,
    SLOT_HOLDING_STATUSES,
)
from assistant.core.vocabulary import URGENCIES
from assistant.db.models import Consult, Encounter, Facility, HubNotice, Slot, Specialist, Worker
from assistant.domain.consult_notices import notice_text
from assistant.domain.facilities import HUB
from assistant.domain.records import consult_json, encounter_json, iso

# The console's way into the conversation a consult was asked in (the specialist's "link to the
# conversation"): it checks the viewer may read it and finds the tracker session.
CONVERSATION_PATH = "/hub/consults/{consult_id}/conversation"


class HubError(Exception):
    """Why a hub operation cannot be done; ``kind`` is ``not_found``, ``conflict``, ``invalid`` or ``forbidden``."""

    def __init__(self, kind: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.field = field


def _not_found(what: str) -> HubError:
    return HubError("not_found", f"No such {what}.")


def _conflict(message: str) -> HubError:
    return HubError("conflict", message)


@dataclass(frozen=True)
class HubActor:
    """Who acts at the hub desk: the person their credential proves."""

    worker_id: str
    role: str  # coordinator, specialist or admin
    specialist_id: int | None = None  # a specialist's own record
    hub_id: str | None = None  # the hub whose desk a coordinator works

    @property
    def is_desk(self) -> bool:
        """Coordinators (and admins) run the desk: the queue, assigning, rescheduling, cancelling."""
        return self.role in ("coordinator", "admin")

    @property
    def every_hub(self) -> bool:
        """An admin works every hub's desk; a coordinator only their own."""
        return self.role == "admin"

    def sees(self, consult: Consult) -> bool:
        if self.role == "specialist":
            return self.specialist_id is not None and consult.specialist_id == self.specialist_id
        return self.is_desk and (self.every_hub or (self.hub_id is not None and consult.hub_id == self.hub_id))

    def desk_hub(self) -> str | None:
        """The hub whose consults and specialists the actor works with; ``None`` for every hub (an admin)."""
        if self.every_hub:
            return None
        if self.hub_id is None:
            raise HubError("forbidden", "Your facility is served by no hub.")
        return self.hub_id

    def require_desk(self) -> None:
        if not self.is_desk:
            raise HubError("forbidden", "Only a hub coordinator may do this.")


def teams_call_link(upn: str) -> str:
    """The specialist's Teams call link; the upn is encoded, so even one stored before upns were checked
    (``rules.UPN``) cannot add a parameter, a second user or a fragment to it."""
    return f"https://teams.microsoft.com/l/call/0/0?users={quote(upn, safe='@')}"


def waiting_seconds(consult: Consult, now: dt.datetime) -> int:
    return max(0, int((now - consult.created_at).total_seconds()))


# --- Reading --------------------------------------------------------------------


# 0 for the most urgent (emergency), so the queue sorts ascending on it.
_URGENCY_RANK = case({urgency: rank for rank, urgency in enumerate(reversed(URGENCIES))}, value=Consult.urgency)


def _waiting(actor: HubActor) -> Select:
    """The consults the actor's desk still has to place."""
    actor.require_desk()
    query = select(Consult).where(Consult.status.in_(ASSIGNABLE_STATUSES))
    hub = actor.desk_hub()
    if hub is not None:
        query = query.where(Consult.hub_id == hub)
    return query


async def queue(session: AsyncSession, actor: HubActor, now: dt.datetime, limit: int = 200) -> list[dict[str, Any]]:
    """The consults waiting for the hub (``requested``), most urgent first, then oldest, with how long each waited."""
    query = _waiting(actor).order_by(_URGENCY_RANK, Consult.created_at, Consult.id).limit(limit)
    consults = (await session.execute(query)).unique().scalars().all()
    return [{**consult_json(c), "waiting_seconds": waiting_seconds(c, now)} for c in consults]


async def queue_size(session: AsyncSession, actor: HubActor) -> int:
    """How many consults wait in the actor's queue (all of them, past any ``limit``)."""
    return int((await session.execute(select(func.count()).select_from(_waiting(actor).subquery()))).scalar_one())


def _slot_taken() -> Any:
    return (
        select(Consult.id).where(and_(Consult.slot_id == Slot.id, Consult.status.in_(SLOT_HOLDING_STATUSES))).exists()
    )


def slot_json(slot: Slot, free: bool | None = None) -> dict[str, Any]:
    answer = {
        "id": slot.id,
        "specialist_id": slot.specialist_id,
        "specialist_name": slot.specialist.name,
        "specialty": slot.specialist.specialty,
        "start": iso(slot.starts_at),
        "end": iso(slot.ends_at),
    }
    if free is not None:
        answer["free"] = free
    return answer


async def slots(
    session: AsyncSession,
    *,
    start: dt.datetime,
    end: dt.datetime,
    specialty: str | None = None,
    specialist_id: int | None = None,
    hub: str | None = None,
    free_only: bool = True,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Slots from ``start`` to ``end`` (of a specialty, a specialist or a hub's specialists), earliest first.

    Only free ones by default.
    """
    taken = _slot_taken()
    query = (
        select(Slot, taken.label("taken"))
        .join(Specialist, Specialist.id == Slot.specialist_id)
        .where(Slot.starts_at >= start, Slot.starts_at < end)
        .order_by(Slot.starts_at, Specialist.name, Slot.id)
        .limit(limit)
    )
    if hub is not None:
        query = query.where(Specialist.facility_id.in_(_facilities_served_by(hub)))
    if specialty is not None:
        query = query.where(Specialist.specialty == specialty)
    if specialist_id is not None:
        query = query.where(Slot.specialist_id == specialist_id)
    if free_only:
        query = query.where(~taken)
    rows = (await session.execute(query)).unique().all()
    return [slot_json(slot, free=None if free_only else not is_taken) for slot, is_taken in rows]


def _facilities_served_by(hub: str) -> Any:
    return select(Facility.id).where(Facility.served_by == hub).scalar_subquery()


async def specialist_hub(session: AsyncSession, specialist_id: int) -> str | None:
    """The hub a specialist works for: the one serving the facility the roster gives them."""
    query = (
        select(Facility.served_by)
        .join(Specialist, Specialist.facility_id == Facility.id)
        .where(Specialist.id == specialist_id)
    )
    hub = (await session.execute(query)).scalar()
    return hub if isinstance(hub, str) else None


def _local_midnight(day: dt.date, timezone: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(timezone)).astimezone(dt.timezone.utc)


async def day_list(
    session: AsyncSession, actor: HubActor, specialist_id: int, day: dt.date, timezone: str
) -> list[dict[str, Any]]:
    """A specialist's consults on one local day, each with the patient context the call needs."""
    if actor.role == "specialist" and actor.specialist_id != specialist_id:
        raise HubError("forbidden", "A specialist sees only their own list.")
    if actor.role not in ("specialist", "coordinator", "admin"):
        raise HubError("forbidden", "Only the hub sees specialists' lists.")
    if actor.role == "coordinator" and await specialist_hub(session, specialist_id) != actor.desk_hub():
        raise _not_found("specialist at your hub")  # another hub's people look exactly like nobody
    start, end = (_local_midnight(date, timezone) for date in (day, day + dt.timedelta(days=1)))
    query = (
        select(Consult)
        .where(
            Consult.specialist_id == specialist_id,
            Consult.scheduled_for >= start,
            Consult.scheduled_for < end,
            Consult.status != "cancelled",
        )
        .order_by(Consult.scheduled_for, Consult.id)
    )
    if actor.role == "coordinator":
        query = query.where(Consult.hub_id == actor.desk_hub())
    consults = (await session.execute(query)).unique().scalars().all()
    return [await with_context(session, consult) for consult in consults]


async def with_context(session: AsyncSession, consult: Consult) -> dict[str, Any]:
    """The consult, plus who asked, from where, the patient's latest encounter (vitals) and the conversation."""
    worker = await session.get(Worker, consult.requested_by)
    facility = await session.get(Facility, consult.facility_id)
    latest = (
        await session.execute(
            select(Encounter)
            .where(Encounter.patient_ref == consult.patient_ref, Encounter.facility_id == consult.facility_id)
            .order_by(Encounter.created_at.desc(), Encounter.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return {
        **consult_json(consult),
        "worker": None if worker is None else {"id": worker.id, "name": worker.name, "designation": worker.designation},
        "facility": None if facility is None else {"id": facility.id, "name": facility.name},
        "latest_encounter": None if latest is None else encounter_json(latest),
        "conversation": CONVERSATION_PATH.format(consult_id=consult.id),
    }


async def visible_consult(session: AsyncSession, actor: HubActor, consult_id: int) -> Consult:
    consult: Consult | None = await session.get(Consult, consult_id)
    if consult is None or not actor.sees(consult):
        raise _not_found("consult")  # an invisible consult looks exactly like a missing one
    return consult


# --- Changing -------------------------------------------------------------------

# A notice the worker heard in the answer to their own cancel (``worker_cancel``).
TOLD_IN_ANSWER = "api"


def _written(value: str | None, field: str, limit: int, missing: str | None = None) -> str | None:
    """What a person wrote, trimmed and otherwise kept as written; ``missing`` is the complaint if it must be given."""
    text = (value or "").strip()
    if not text:
        if missing is not None:
            raise HubError("invalid", missing, field=field)
        return None
    if len(text) > limit:
        raise HubError("invalid", f"{field} is longer than {limit} characters.", field=field)
    if CONTROL_CHARACTERS.search(text):
        raise HubError("invalid", f"{field} must not contain control characters.", field=field)
    return text


async def _notify(session: AsyncSession, consult: Consult, event: str, timezone: str, hub: str = "") -> None:
    """Queue the worker's notice of ``event``, in the transaction that made the change."""
    session.add(
        HubNotice(
            consult_id=consult.id,
            worker_id=consult.requested_by,
            event=event,
            channel=consult.channel,
            text_en=notice_text(consult, event, "en", timezone, hub=hub),
            text_hi=notice_text(consult, event, "hi", timezone, hub=hub),
        )
    )
    await session.flush()


async def _update_if(session: AsyncSession, consult: Consult, condition: Any, values: dict[str, Any]) -> bool:
    """One UPDATE of the consult, applied only if ``condition`` still holds; the consult is re-read either way."""
    result = await session.execute(
        update(Consult)
        .where(Consult.id == consult.id, condition)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(consult)
    return bool(result.rowcount == 1)


def _as_read(consult: Consult, statuses: tuple[str, ...] | None = None) -> Any:
    """The consult is as we read it (in one of ``statuses``, on the same slot): what a change is conditional on."""
    condition = Consult.status.in_(statuses) if statuses is not None else Consult.status == consult.status
    if consult.slot_id is None:
        return and_(condition, Consult.slot_id.is_(None))
    return and_(condition, Consult.slot_id == consult.slot_id)


async def _free_slot(session: AsyncSession, consult: Consult, slot_id: int, now: dt.datetime) -> Slot:
    slot: Slot | None = await session.get(Slot, slot_id)
    # A slot of another hub's specialist is not this consult's to take (refer it to that hub instead),
    # and it answers exactly like a missing one: the desk learns nothing of other hubs' rosters.
    if slot is None or await specialist_hub(session, slot.specialist_id) != consult.hub_id:
        # A slot named in the request body: the request is wrong, the consult (the path) is there.
        raise HubError("invalid", "No such slot at this consult's hub.", field="slot_id")
    if slot.specialist.specialty != consult.specialty:
        raise HubError(
            "invalid",
            f"{slot.specialist.name} is {slot.specialist.specialty}; this consult needs {consult.specialty}.",
            field="slot_id",
        )
    if slot.starts_at < now:
        raise HubError("invalid", "That slot has already started.", field="slot_id")
    return slot


async def slot_at(session: AsyncSession, specialist_id: int, start: dt.datetime) -> int:
    """The id of the specialist's slot starting at ``start`` (how ``{"specialist_id", "start"}`` names one)."""
    if await session.get(Specialist, specialist_id) is None:
        raise HubError("invalid", "No such specialist.", field="specialist_id")
    slot_id = (
        await session.execute(select(Slot.id).where(Slot.specialist_id == specialist_id, Slot.starts_at == start))
    ).scalar_one_or_none()
    if slot_id is None:
        raise HubError("invalid", "That specialist has no slot starting then.", field="start")
    return int(slot_id)


async def _move_to_slot(
    session: AsyncSession, consult: Consult, slot: Slot, from_statuses: tuple[str, ...], what: str
) -> None:
    """One conditional UPDATE onto the slot; the unique index refuses a slot someone holds."""
    values = {
        "status": "scheduled",
        "slot_id": slot.id,
        "specialist_id": slot.specialist_id,
        "scheduled_for": slot.starts_at,
        "call_link": teams_call_link(slot.specialist.upn),
        "hub_queue": False,
    }
    try:
        async with session.begin_nested():
            moved = await _update_if(session, consult, _as_read(consult, from_statuses), values)
    except IntegrityError:
        raise _conflict("That slot has just been taken; choose another.") from None
    if not moved:
        raise _conflict(f"Consult {consult.id} is {consult.status} now and cannot be {what}.")


@dataclass(frozen=True)
class _Scheduling:
    """Assigning and rescheduling are one move onto a slot, from different states, told as different events."""

    from_statuses: tuple[str, ...]
    event: str
    done: str  # "assigned" / "rescheduled", in the conflict's words
    needs: str  # the state the action starts from, in the refusal's words


_ASSIGN = _Scheduling(ASSIGNABLE_STATUSES, "scheduled", "assigned", "requested")
_RESCHEDULE = _Scheduling(RESCHEDULABLE_STATUSES, "rescheduled", "rescheduled", "scheduled")


async def _schedule(
    session: AsyncSession,
    actor: HubActor,
    consult_id: int,
    slot_id: int,
    now: dt.datetime,
    timezone: str,
    how: _Scheduling,
) -> dict[str, Any]:
    actor.require_desk()
    consult = await visible_consult(session, actor, consult_id)
    if consult.status not in how.from_statuses:
        raise _conflict(f"Consult {consult.id} is {consult.status}; only a {how.needs} consult can be {how.done}.")
    if consult.slot_id == slot_id:
        raise HubError("invalid", "The consult is already in that slot.", field="slot_id")
    slot = await _free_slot(session, consult, slot_id, now)
    await _move_to_slot(session, consult, slot, how.from_statuses, how.done)
    await _notify(session, consult, how.event, timezone)
    return consult_json(consult)


async def assign(
    session: AsyncSession, actor: HubActor, consult_id: int, slot_id: int, now: dt.datetime, timezone: str
) -> dict[str, Any]:
    """Schedule a waiting consult on a free slot of a specialist of its specialty."""
    return await _schedule(session, actor, consult_id, slot_id, now, timezone, _ASSIGN)


async def reschedule(
    session: AsyncSession, actor: HubActor, consult_id: int, slot_id: int, now: dt.datetime, timezone: str
) -> dict[str, Any]:
    """Move a scheduled consult to another free slot (of the same or another specialist of its specialty)."""
    return await _schedule(session, actor, consult_id, slot_id, now, timezone, _RESCHEDULE)


async def refer(
    session: AsyncSession,
    actor: HubActor,
    consult_id: int,
    to_hub: str,
    reason: str,
    now: dt.datetime,
    timezone: str,
) -> dict[str, Any]:
    """Send a consult to another hub's queue, with a reason the worker is told; it leaves any slot it held here.

    The other hub's coordinator then assigns it to one of their specialists
    (never chosen silently here); from then on this hub's desk no longer sees it.
    """
    actor.require_desk()
    said = _written(reason, "reason", HUB_REASON_LIMIT, "Say why the consult goes to another hub; the worker is told.")
    consult = await visible_consult(session, actor, consult_id)
    hub: Facility | None = await session.get(Facility, to_hub)
    if hub is None or hub.kind != HUB:
        raise HubError("invalid", "No such hub.", field="hub_id")
    if hub.id == consult.hub_id:
        raise HubError("invalid", "The consult is already at that hub.", field="hub_id")
    if consult.status not in REFERABLE_STATUSES:
        raise _conflict(f"Consult {consult.id} is {consult.status}; only one still to take place can be referred.")
    values = {
        "status": "requested",
        "slot_id": None,
        "specialist_id": None,
        "scheduled_for": None,
        "call_link": None,
        "hub_queue": True,
        "hub_id": hub.id,
        "queue_reason": "referred",
        "referred_from": consult.hub_id,
        "referral_reason": said,
        "referred_by": actor.worker_id,
        "referred_at": now,
    }
    if not await _update_if(session, consult, _as_read(consult, REFERABLE_STATUSES), values):
        raise _conflict(f"Consult {consult.id} is {consult.status} now; nothing was changed.")
    await _notify(session, consult, "referred", timezone, hub=hub.name)
    return consult_json(consult)


async def _close(
    session: AsyncSession,
    consult: Consult,
    from_statuses: tuple[str, ...],
    event: str,
    values: dict[str, Any],
    timezone: str,
) -> dict[str, Any]:
    if not await _update_if(session, consult, Consult.status.in_(from_statuses), values):
        raise _conflict(f"Consult {consult.id} is {consult.status} now; nothing was changed.")
    await _notify(session, consult, event, timezone)
    return consult_json(consult)


async def cancel(
    session: AsyncSession, actor: HubActor, consult_id: int, reason: str, now: dt.datetime, timezone: str
) -> dict[str, Any]:
    """The hub cancels a consult, with a reason the worker is told."""
    actor.require_desk()
    said = _written(reason, "reason", HUB_REASON_LIMIT, "Say why the hub cancels the consult; the worker is told.")
    consult = await visible_consult(session, actor, consult_id)
    if consult.status not in CANCELLABLE_STATUSES:
        raise _conflict(f"Consult {consult.id} is {consult.status} and cannot be cancelled.")
    values = {"status": "cancelled", "cancelled_at": now, "cancel_reason": said, "cancelled_by": actor.worker_id}
    return await _close(session, consult, CANCELLABLE_STATUSES, "cancelled", values, timezone)


@dataclass(frozen=True)
class Withdrawal:
    """What came of a worker's own cancel: the cancelled consult, or else the hub's news they had not heard."""

    consult: dict[str, Any] | None
    news: list[dict[str, Any]]

    @property
    def message(self) -> str:
        told = " ".join(notice["text"]["en"] for notice in self.news)
        return (
            f"The hub changed this consult before the cancel arrived. {told} "
            "Nothing was cancelled; cancel again if it is still not needed."
        )


async def _untold(session: AsyncSession, consult_id: int) -> list[HubNotice]:
    query = (
        select(HubNotice)
        .where(HubNotice.consult_id == consult_id, HubNotice.delivered_at.is_(None))
        .order_by(HubNotice.id)
    )
    return list((await session.execute(query)).scalars())


async def _news(session: AsyncSession, consult: Consult, now: dt.datetime) -> Withdrawal | None:
    """The hub's news of the consult the worker has not heard yet, told now (in the answer), if there is any."""
    untold = await _untold(session, consult.id)
    if not untold:
        return None
    return Withdrawal(None, [await mark_delivered(session, notice.id, TOLD_IN_ANSWER, now) for notice in untold])


async def worker_cancel(
    session: AsyncSession, consult: Consult, *, by: str, reason: str | None, now: dt.datetime, own: bool
) -> Withdrawal:
    """Cancel a consult for the worker who asked (``own``) or their supervisor; nobody is sent a notice.

    A worker's cancel never overrides hub news they have not heard: if the
    hub assigned, moved or cancelled the consult since they were last told
    (an undelivered notice), nothing is cancelled and the news is the answer
    (so it counts as told); cancelling again then goes through. The UPDATE is
    conditional on the consult as read, so an assign racing the cancel has
    exactly one winner, on SQLite and PostgreSQL alike.
    """
    if consult.status not in CANCELLABLE_STATUSES:
        raise _conflict(f"Consult {consult.id} is {consult.status} and cannot be cancelled.")
    if own and (news := await _news(session, consult, now)):
        return news
    values = {"status": "cancelled", "cancelled_at": now, "cancel_reason": reason, "cancelled_by": by}
    if await _update_if(session, consult, _as_read(consult), values):
        return Withdrawal(consult_json(consult), [])
    # The hub changed it between our read and our write: its news, if any, is the answer.
    if own and (news := await _news(session, consult, now)):
        return news
    raise _conflict(f"Consult {consult.id} is {consult.status} now; nothing was changed.")


def _may_close(actor: HubActor, consult: Consult) -> None:
    if actor.role == "specialist" and consult.specialist_id != actor.specialist_id:
        raise _not_found("consult")
    if actor.role not in ("specialist", "coordinator", "admin"):
        raise HubError("forbidden", "Only the assigned specialist or a hub coordinator may do this.")


async def complete(
    session: AsyncSession,
    actor: HubActor,
    consult_id: int,
    advice: str,
    follow_up: str | None,
    now: dt.datetime,
    timezone: str,
) -> dict[str, Any]:
    """The consult took place: store the specialist's advice, as written."""
    consult = await visible_consult(session, actor, consult_id)
    _may_close(actor, consult)
    written = _written(advice, "advice", ADVICE_LIMIT, "Write the advice the worker should hear.")
    then = _written(follow_up, "follow_up", ADVICE_LIMIT)
    if consult.status not in CLOSABLE_STATUSES:
        raise _conflict(f"Consult {consult.id} is {consult.status}; only a scheduled consult can be completed.")
    values = {
        "status": "completed",
        "specialist_advice": written,
        "follow_up": then,
        "closed_by": actor.worker_id,
        "closed_at": now,
    }
    return await _close(session, consult, CLOSABLE_STATUSES, "completed", values, timezone)


async def no_show(
    session: AsyncSession, actor: HubActor, consult_id: int, now: dt.datetime, timezone: str
) -> dict[str, Any]:
    """Nobody joined the call: the slot stays used, and the worker is asked to request again if needed."""
    consult = await visible_consult(session, actor, consult_id)
    _may_close(actor, consult)
    if consult.status not in CLOSABLE_STATUSES:
        raise _conflict(f"Consult {consult.id} is {consult.status}; only a scheduled consult can be a no-show.")
    values = {"status": "no_show", "closed_by": actor.worker_id, "closed_at": now}
    return await _close(session, consult, CLOSABLE_STATUSES, "no_show", values, timezone)


# --- The worker outbox ------------------------------------------------------------


def notice_json(notice: HubNotice, phone: str | None = None) -> dict[str, Any]:
    return {
        "id": notice.id,
        "consult_id": notice.consult_id,
        "task_id": notice.task_id,
        "worker_id": notice.worker_id,
        "event": notice.event,
        "channel": notice.channel,
        "text": {"en": notice.text_en, "hi": notice.text_hi},
        "created_at": iso(notice.created_at),
        "delivered_at": iso(notice.delivered_at),
        "delivered_via": notice.delivered_via,
        "phone": phone,
    }


async def pending_notices(
    session: AsyncSession,
    *,
    worker_id: str | None = None,
    channels: tuple[str, ...] | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Notices not yet delivered, oldest first (with the worker's number, for the messaging channels)."""
    query = (
        select(HubNotice, Worker.phone)
        .join(Worker, Worker.id == HubNotice.worker_id)
        .where(HubNotice.delivered_at.is_(None))
        .order_by(HubNotice.id)
        .limit(limit)
    )
    if worker_id is not None:
        query = query.where(HubNotice.worker_id == worker_id)
    if channels is not None:
        query = query.where(HubNotice.channel.in_(channels))
    return [notice_json(notice, phone) for notice, phone in (await session.execute(query)).all()]


async def mark_delivered(session: AsyncSession, notice_id: int, via: str, now: dt.datetime) -> dict[str, Any]:
    """Record that a notice is on its way to the worker; marking it again changes nothing."""
    await session.execute(
        update(HubNotice)
        .where(HubNotice.id == notice_id, HubNotice.delivered_at.is_(None))
        .values(delivered_at=now, delivered_via=via)
        .execution_options(synchronize_session=False)
    )
    notice: HubNotice | None = await session.get(HubNotice, notice_id, populate_existing=True)
    if notice is None:
        raise _not_found("notice")
    return notice_json(notice)
