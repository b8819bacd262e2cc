"""HTTP handlers of the hub desk: the queue, slots, assigning and closing consults, and the workers' notices.

The rules are ``assistant.domain.hub_operations``'s (the console's Hub desk page uses them
too); a refusal there (``HubError``) becomes the API's error shape in
``assistant.backend.errors``. Every change goes through ``run_idempotent``,
so a retried POST with the same ``Idempotency-Key`` replays its first answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.backend.app_state import DB, TIMEZONE
from assistant.backend.auth import hub_actor, require_role
from assistant.backend.errors import ApiError, Handler, invalid
from assistant.backend.idempotency import run_idempotent
from assistant.backend.listing import MAX_PAGE
from assistant.backend.validation import (
    moment,
    optional_choice,
    optional_id,
    optional_text,
    path_id,
    query_date,
    query_flag,
    query_id,
    query_int,
    query_moment,
    read_json_object,
    required_text,
)
from assistant.core.rules import ADVICE_LIMIT, HUB_REASON_LIMIT, SLOT_WINDOW_DAYS, WORKER_ID
from assistant.core.vocabulary import CHANNELS, SPECIALTIES
from assistant.db.models import utcnow
from assistant.domain import hub_operations

# GET /slots looks this far ahead unless ``to`` says otherwise, and never further than MAX_SLOT_SPAN at once.
SLOT_SPAN = dt.timedelta(days=SLOT_WINDOW_DAYS)
MAX_SLOT_SPAN = dt.timedelta(days=31)
MAX_SLOTS = 500  # earliest first: narrow by specialty, specialist or time for more
# How a notice can have reached the worker: one of our channels, or Twilio's WhatsApp.
DELIVERY_ROUTES = (*CHANNELS, "twilio")


# --- Reading ------------------------------------------------------------------------


async def get_queue(request: web.Request) -> web.Response:
    actor = hub_actor(request)
    limit = query_int(request, "limit", MAX_PAGE, 1, MAX_PAGE)
    async with request.app[DB].read() as session:
        items = await hub_operations.queue(session, actor, utcnow(), limit)
        total = await hub_operations.queue_size(session, actor)
    return web.json_response({"items": items, "total": total})


async def list_slots(request: web.Request) -> web.Response:
    actor = hub_actor(request)
    specialty = optional_choice(request.query, "specialty", SPECIALTIES)
    specialist_id = query_id(request, "specialist_id")
    if actor.role == "specialist":
        if actor.specialist_id is None or specialist_id not in (None, actor.specialist_id):
            raise ApiError(403, "forbidden", "A specialist sees only their own slots.")
        specialist_id = actor.specialist_id
    start = query_moment(request, "from", utcnow())
    end = query_moment(request, "to", start + SLOT_SPAN)
    if end <= start:
        raise invalid("to", "to must be after from.")
    if end - start > MAX_SLOT_SPAN:
        raise invalid("to", f"Ask for at most {MAX_SLOT_SPAN.days} days of slots at once.")
    free_only = query_flag(request, "free", True)
    limit = query_int(request, "limit", MAX_SLOTS, 1, MAX_SLOTS)
    async with request.app[DB].read() as session:
        items = await hub_operations.slots(
            session,
            start=start,
            end=end,
            specialty=specialty,
            specialist_id=specialist_id,
            free_only=free_only,
            limit=limit,
        )
    return web.json_response({"items": items})


async def specialist_day(request: web.Request) -> web.Response:
    """``GET /consults?specialist=me|<id>&date=``: a specialist's consults of one local day, with their context."""
    actor = hub_actor(request)
    timezone = request.app[TIMEZONE]
    asked = request.query.get("specialist") or "me"
    specialist_id = actor.specialist_id if asked.lower() == "me" else optional_id({"specialist": asked}, "specialist")
    if specialist_id is None:
        raise invalid("specialist", "Name the specialist: specialist=<id> (specialist=me is for a specialist's login).")
    day = query_date(request, "date", utcnow().astimezone(ZoneInfo(timezone)).date())
    async with request.app[DB].read() as session:
        items = await hub_operations.day_list(session, actor, specialist_id, day, timezone)
    return web.json_response(
        {"items": items, "total": len(items), "specialist_id": specialist_id, "date": day.isoformat()}
    )


# --- Changing -----------------------------------------------------------------------


@dataclass(frozen=True)
class SlotChoice:
    """The slot a consult goes to: by its id, or as a specialist's slot starting at a time."""

    slot_id: int | None
    specialist_id: int | None
    start: dt.datetime | None

    @classmethod
    def parse(cls, body: dict[str, Any]) -> SlotChoice:
        slot_id = optional_id(body, "slot_id")
        specialist_id = optional_id(body, "specialist_id")
        start = None if body.get("start") is None else moment(body["start"], "start")
        if slot_id is not None and (specialist_id is not None or start is not None):
            raise invalid("slot_id", "Give slot_id, or specialist_id and start, not both.")
        if slot_id is None and specialist_id is None and start is None:
            raise invalid("slot_id", "Give slot_id, or specialist_id and start.")
        if slot_id is None and specialist_id is None:
            raise invalid("specialist_id", "Give specialist_id with start (or slot_id alone).")
        if slot_id is None and start is None:
            raise invalid("start", "Give start with specialist_id (or slot_id alone).")
        return cls(slot_id, specialist_id, start)

    async def resolve(self, session: AsyncSession) -> int:
        if self.slot_id is not None:
            return self.slot_id
        assert self.specialist_id is not None and self.start is not None  # parse() requires both
        return await hub_operations.slot_at(session, self.specialist_id, self.start)


Move = Callable[[AsyncSession, hub_operations.HubActor, int, int, dt.datetime, str], Awaitable[dict[str, Any]]]


def _moving(move: Move) -> Handler:
    """A handler that puts a consult on a slot: ``hub_operations.assign`` or ``hub_operations.reschedule``."""

    async def handler(request: web.Request) -> web.Response:
        actor = hub_actor(request)
        consult_id = path_id(request)
        body = await read_json_object(request)
        choice = SlotChoice.parse(body)

        async def operation(session: AsyncSession) -> tuple[int, dict[str, Any]]:
            slot_id = await choice.resolve(session)
            return 200, await move(session, actor, consult_id, slot_id, utcnow(), request.app[TIMEZONE])

        return await run_idempotent(request, body, operation)

    return handler


assign_consult = _moving(hub_operations.assign)
reschedule_consult = _moving(hub_operations.reschedule)


async def hub_cancel(request: web.Request) -> web.Response:
    """A coordinator's (or an admin's) cancel: the reason is required, since the worker is told it."""
    actor = hub_actor(request)
    consult_id = path_id(request)
    body = await read_json_object(request, allow_empty=True)
    reason = required_text(body, "reason", limit=HUB_REASON_LIMIT)

    async def operation(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        return 200, await hub_operations.cancel(session, actor, consult_id, reason, utcnow(), request.app[TIMEZONE])

    return await run_idempotent(request, body, operation)


async def complete_consult(request: web.Request) -> web.Response:
    actor = hub_actor(request)
    consult_id = path_id(request)
    body = await read_json_object(request)
    advice = required_text(body, "advice", limit=ADVICE_LIMIT)
    follow_up = optional_text(body, "follow_up", limit=ADVICE_LIMIT)

    async def operation(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        timezone = request.app[TIMEZONE]
        return 200, await hub_operations.complete(session, actor, consult_id, advice, follow_up, utcnow(), timezone)

    return await run_idempotent(request, body, operation)


async def no_show(request: web.Request) -> web.Response:
    actor = hub_actor(request)
    consult_id = path_id(request)
    body = await read_json_object(request, allow_empty=True)

    async def operation(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        return 200, await hub_operations.no_show(session, actor, consult_id, utcnow(), request.app[TIMEZONE])

    return await run_idempotent(request, body, operation)


# --- The worker outbox (the channels, with the service token) --------------------------


async def list_notices(request: web.Request) -> web.Response:
    require_role(request, "service")
    worker = request.query.get("worker") or None
    if worker is not None and not WORKER_ID.match(worker):
        raise invalid("worker", "worker must be a worker id (letters, digits, '-', '_', '.').")
    named = [optional_choice({"channel": value}, "channel", CHANNELS) for value in request.query.getall("channel", [])]
    channels = tuple(channel for channel in named if channel is not None) or None
    limit = query_int(request, "limit", 50, 1, MAX_PAGE)
    async with request.app[DB].read() as session:
        items = await hub_operations.pending_notices(session, worker_id=worker, channels=channels, limit=limit)
    return web.json_response({"items": items})


async def notice_delivered(request: web.Request) -> web.Response:
    require_role(request, "service")
    notice_id = path_id(request)
    body = await read_json_object(request)
    via = optional_choice(body, "via", DELIVERY_ROUTES)
    if via is None:
        raise invalid("via", f"via is required: one of {', '.join(DELIVERY_ROUTES)}.", allowed=list(DELIVERY_ROUTES))

    async def operation(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        return 200, await hub_operations.mark_delivered(session, notice_id, via, utcnow())

    return await run_idempotent(request, body, operation)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/hub/queue", get_queue)
    app.router.add_get("/slots", list_slots)
    app.router.add_post("/consults/{id}/assign", assign_consult)
    app.router.add_post("/consults/{id}/reschedule", reschedule_consult)
    app.router.add_post("/consults/{id}/complete", complete_consult)
    app.router.add_post("/consults/{id}/no_show", no_show)
    app.router.add_get("/notices", list_notices)
    app.router.add_post("/notices/{id}/delivered", notice_delivered)
