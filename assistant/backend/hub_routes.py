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

from assistant.backend import task_routes
from assistant.backend.app_state import CLOCK, DB, TIMEZONE
from assistant.backend.auth import hub_actor, require_role
from assistant.backend.errors import ApiError, Handler, invalid
from assistant.backend.fields import (
    Body,
    Day,
    Flag,
    Matching,
    Moment,
    Parameter,
    Parsed,
    Text,
    Whole,
    as_required,
    choice,
    record_id,
)
from assistant.backend.idempotency import run_idempotent
from assistant.backend.listing import DEFAULT_PAGE, MAX_PAGE
from assistant.backend.validation import path_id, read_json_object
from assistant.core.rules import ADVICE_LIMIT, HUB_REASON_LIMIT, SLOT_WINDOW_DAYS, WORKER_ID, WORKER_ID_LENGTH
from assistant.core.vocabulary import CHANNELS, SPECIALTIES
from assistant.db.models import utcnow
from assistant.domain import hub_operations, tasks

# GET /slots looks this far ahead unless ``to`` says otherwise, and never further than MAX_SLOT_SPAN at once.
SLOT_SPAN = dt.timedelta(days=SLOT_WINDOW_DAYS)
MAX_SLOT_SPAN = dt.timedelta(days=31)
MAX_SLOTS = 500  # earliest first: narrow by specialty, specialist or time for more
# How a notice can have reached the worker: one of our channels, or Twilio's WhatsApp.
DELIVERY_ROUTES = (*CHANNELS, "twilio")

# --- What the requests say (assistant.backend.fields: each checks and describes) -------------

QUEUE_LIMIT = Parameter("query", Whole("limit", 1, MAX_PAGE, default=MAX_PAGE))
SLOT_SPECIALTY = Parameter("query", choice("specialty", SPECIALTIES))
SLOT_SPECIALIST = Parameter("query", record_id("specialist_id"))
SLOTS_FROM = Parameter("query", Moment("from", description="Default: now"))
SLOTS_TO = Parameter(
    "query",
    Moment("to", description=f"Default: {SLOT_SPAN.days} days after from; at most {MAX_SLOT_SPAN.days} days after it"),
)
SLOTS_FREE = Parameter("query", Flag("free", default=True, description="false: the booked ones too"))
SLOTS_LIMIT = Parameter("query", Whole("limit", 1, MAX_SLOTS, default=MAX_SLOTS))
SLOTS_QUERY = (SLOT_SPECIALTY, SLOT_SPECIALIST, SLOTS_FROM, SLOTS_TO, SLOTS_FREE, SLOTS_LIMIT)

# GET /consults?specialist=me|<id>&date=: whose day, and which (default today, local).
ME = "me"
NAMED_SPECIALIST = record_id("specialist")


def _me_or_id(value: str | None) -> int | str | None:
    return ME if value is None or value.lower() == ME else NAMED_SPECIALIST.parse(value)


SPECIALIST = Parameter(
    "query",
    Parsed(
        "specialist",
        read=_me_or_id,
        described={"oneOf": [{"type": "string", "enum": [ME]}, NAMED_SPECIALIST.schema()]},
        description="me (a specialist's login), or a specialist id (the desk)",
    ),
)
DAY = Parameter("query", Day("date", description="Local; default today"))

SLOT_CHOICE = Body(
    "SlotChoice",
    record_id("slot_id"),
    record_id("specialist_id"),
    Moment("start", description="The start of one of the specialist's slots"),
    description="Either slot_id, or specialist_id and start",
)
CANCEL_REASON = Text("reason", limit=HUB_REASON_LIMIT, description="Required from the hub desk, and told to the worker")
HUB_CANCEL = Body("HubCancelRequest", as_required(CANCEL_REASON))
REFERRAL = Body(
    "ReferRequest",
    Matching("hub_id", WORKER_ID, WORKER_ID_LENGTH, "the id of the hub (a facility of kind hub)", required=True),
    Text("reason", limit=HUB_REASON_LIMIT, required=True, description="Told to the worker"),
)
COMPLETION = Body(
    "CompleteRequest",
    Text("advice", limit=ADVICE_LIMIT, required=True, description="The specialist's words, kept as written"),
    Text("follow_up", limit=ADVICE_LIMIT),
    task_routes.FOLLOW_UPS,
)
NOTICE_WORKER = Parameter(
    "query", Matching("worker", WORKER_ID, WORKER_ID_LENGTH, "a worker id (letters, digits, '-', '_', '.')")
)
NOTICE_CHANNELS = Parameter(
    "query", choice("channel", CHANNELS, description="Repeat for several channels"), repeated=True
)
NOTICES_LIMIT = Parameter("query", Whole("limit", 1, MAX_PAGE, default=DEFAULT_PAGE))
DELIVERY = Body("DeliveredRequest", choice("via", DELIVERY_ROUTES, required=True))


# --- Reading ------------------------------------------------------------------------


async def get_queue(request: web.Request) -> web.Response:
    actor = hub_actor(request)
    limit = QUEUE_LIMIT.read(request)
    async with request.app[DB].read() as session:
        items = await hub_operations.queue(session, actor, utcnow(), limit)
        total = await hub_operations.queue_size(session, actor)
    return web.json_response({"items": items, "total": total})


async def list_slots(request: web.Request) -> web.Response:
    actor = hub_actor(request)
    specialty = SLOT_SPECIALTY.read(request)
    specialist_id = SLOT_SPECIALIST.read(request)
    if actor.role == "specialist":
        if actor.specialist_id is None or specialist_id not in (None, actor.specialist_id):
            raise ApiError(403, "forbidden", "A specialist sees only their own slots.")
        specialist_id = actor.specialist_id
    start = SLOTS_FROM.read(request) or utcnow()
    end = SLOTS_TO.read(request) or start + SLOT_SPAN
    if end <= start:
        raise invalid("to", "to must be after from.")
    if end - start > MAX_SLOT_SPAN:
        raise invalid("to", f"Ask for at most {MAX_SLOT_SPAN.days} days of slots at once.")
    free_only = SLOTS_FREE.read(request)
    limit = SLOTS_LIMIT.read(request)
    async with request.app[DB].read() as session:
        items = await hub_operations.slots(
            session,
            start=start,
            end=end,
            specialty=specialty,
            specialist_id=specialist_id,
            hub=None if actor.role == "specialist" else actor.desk_hub(),  # a coordinator sees their hub's only
            free_only=free_only,
            limit=limit,
        )
    return web.json_response({"items": items})


async def specialist_day(request: web.Request) -> web.Response:
    """``GET /consults?specialist=me|<id>&date=``: a specialist's consults of one local day, with their context."""
    actor = hub_actor(request)
    timezone = request.app[TIMEZONE]
    asked = SPECIALIST.read(request)
    specialist_id = actor.specialist_id if asked == ME else asked
    if specialist_id is None:
        raise invalid("specialist", "Name the specialist: specialist=<id> (specialist=me is for a specialist's login).")
    day = DAY.read(request) or utcnow().astimezone(ZoneInfo(timezone)).date()
    async with request.app[DB].read() as session:
        items = await hub_operations.day_list(session, actor, specialist_id, day, timezone)
        found = await tasks.follow_ups_of(session, [item["id"] for item in items], request.app[CLOCK].today())
    for item in items:
        item["follow_ups"] = found.get(item["id"])  # how the tasks it left stand; None: it left none
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
        said = SLOT_CHOICE.parse(body)
        slot_id, specialist_id, start = said["slot_id"], said["specialist_id"], said["start"]
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
    reason = HUB_CANCEL.parse(body)["reason"]

    async def operation(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        return 200, await hub_operations.cancel(session, actor, consult_id, reason, utcnow(), request.app[TIMEZONE])

    return await run_idempotent(request, body, operation)


async def refer_consult(request: web.Request) -> web.Response:
    """A coordinator sends a consult to another hub's queue (no specialist of the kind here, say)."""
    actor = hub_actor(request)
    consult_id = path_id(request)
    body = await read_json_object(request)
    said = REFERRAL.parse(body)

    async def operation(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        timezone = request.app[TIMEZONE]
        referred = await hub_operations.refer(
            session, actor, consult_id, said["hub_id"], said["reason"], utcnow(), timezone
        )
        return 200, referred

    return await run_idempotent(request, body, operation)


async def complete_consult(request: web.Request) -> web.Response:
    actor = hub_actor(request)
    consult_id = path_id(request)
    body = await read_json_object(request)
    said = COMPLETION.parse(body)
    advice, follow_up = said["advice"], said["follow_up"]
    follow_ups = [task_routes.follow_up(item) for item in said["follow_ups"]]
    clock = request.app[CLOCK]

    async def operation(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        completed = await tasks.complete_consult(
            session,
            actor,
            consult_id,
            advice,
            follow_up,
            follow_ups,
            now=utcnow(),
            today=clock.today(),
            timezone=request.app[TIMEZONE],
        )
        return 200, completed

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
    worker = NOTICE_WORKER.read(request)
    channels = tuple(NOTICE_CHANNELS.read(request)) or None
    limit = NOTICES_LIMIT.read(request)
    async with request.app[DB].read() as session:
        items = await hub_operations.pending_notices(session, worker_id=worker, channels=channels, limit=limit)
    return web.json_response({"items": items})


async def notice_delivered(request: web.Request) -> web.Response:
    require_role(request, "service")
    notice_id = path_id(request)
    body = await read_json_object(request)
    via = DELIVERY.parse(body)["via"]

    async def operation(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        return 200, await hub_operations.mark_delivered(session, notice_id, via, utcnow())

    return await run_idempotent(request, body, operation)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/hub/queue", get_queue)
    app.router.add_get("/slots", list_slots)
    app.router.add_post("/consults/{id}/assign", assign_consult)
    app.router.add_post("/consults/{id}/reschedule", reschedule_consult)
    app.router.add_post("/consults/{id}/refer", refer_consult)
    app.router.add_post("/consults/{id}/complete", complete_consult)
    app.router.add_post("/consults/{id}/no_show", no_show)
    app.router.add_get("/notices", list_notices)
    app.router.add_post("/notices/{id}/delivered", notice_delivered)
