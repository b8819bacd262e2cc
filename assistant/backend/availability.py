"""HTTP routes for specialists' weekly hours and single slots: what the hub can book.

- ``GET /availability?specialist_id=``: weekly hours.
- ``POST /availability``: add weekly hours; their slots are cut at once.
- ``DELETE /availability/{id}``: remove them, with their future free slots (a booked one stays, and is listed).
- ``POST /slots``: one slot outside the weekly hours. ``DELETE /slots/{id}``: remove a free slot.

A specialist manages their own hours and slots only; a coordinator (or an
admin) those of any specialist at a facility they see; anyone else gets 403.
The rules are ``assistant.domain.slot_window``'s (the roster import uses them
too); its refusals (``HubError``) become the API's errors in
``assistant.backend.errors``. POSTs go through ``run_idempotent``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.backend.app_state import DB, TIMEZONE
from assistant.backend.auth import Principal, require_role
from assistant.backend.errors import ApiError, invalid, not_found
from assistant.backend.fields import Body, Moment, Parameter, Parsed, record_id
from assistant.backend.idempotency import run_idempotent
from assistant.backend.validation import path_id, read_json_object
from assistant.core.rules import SLOT_MINUTES_RANGE
from assistant.db.models import Availability, Slot, Specialist, utcnow
from assistant.domain import slot_window
from assistant.domain.hub_operations import slot_json

MANAGING_ROLES = ("specialist", "coordinator", "admin")

# --- What the requests say (assistant.backend.fields: each checks and describes) -------------
# Weekdays, clock times and slot lengths are the domain's rules (the roster import reads them too).

SPECIALIST_ID = Parameter("query", record_id("specialist_id"))
OWNER = record_id("specialist_id", description="Default: the calling specialist's own record")
CLOCK = {"type": "string", "pattern": slot_window.CLOCK_PATTERN, "description": "Local time HH:MM"}
LAST_WEEKDAY = len(slot_window.WEEKDAYS) - 1


def _minutes(name: str) -> Parsed:
    low, high = SLOT_MINUTES_RANGE
    described = {"type": "integer", "minimum": low, "maximum": high, "default": slot_window.DEFAULT_SLOT_MINUTES}
    return Parsed(name, read=functools.partial(slot_window.parse_slot_minutes, field=name), described=described)


HOURS_REQUEST = Body(
    "WeeklyHoursRequest",
    OWNER,
    Parsed(
        "weekday",
        read=slot_window.parse_weekday,
        described={
            "oneOf": [
                {"type": "integer", "minimum": 0, "maximum": LAST_WEEKDAY},
                {"type": "string", "enum": list(slot_window.WEEKDAYS)},
            ]
        },
        required=True,
        description=f"0 (Monday) to {LAST_WEEKDAY}, or {slot_window.WEEKDAYS[0]} to {slot_window.WEEKDAYS[-1]}",
    ),
    Parsed("start", read=functools.partial(slot_window.parse_clock, field="start"), described=CLOCK, required=True),
    Parsed(
        "end",
        read=functools.partial(slot_window.parse_clock, field="end", end=True),
        described={**CLOCK, "description": "Local time HH:MM after start (24:00: until midnight)"},
        required=True,
    ),
    _minutes("slot_minutes"),
)


@dataclass(frozen=True)
class SlotStart(Moment):
    """A single slot's start: a time on a whole minute."""

    def parse(self, value: Any) -> Any:
        start = super().parse(value)
        if start is not None and (start.second or start.microsecond):
            raise invalid(self.name, "A slot starts on a whole minute.")
        return start


SINGLE_SLOT_REQUEST = Body(
    "SingleSlotRequest",
    OWNER,
    SlotStart("start", required=True, description="On a whole minute, in the future"),
    _minutes("minutes"),
)


def _manager(request: web.Request) -> Principal:
    return require_role(request, *MANAGING_ROLES)


async def _managed(session: AsyncSession, who: Principal, specialist_id: int | None) -> Specialist:
    """The specialist whose hours ``who`` changes: a specialist's own by default, and only theirs."""
    if who.role == "specialist":
        if who.specialist_id is None:
            raise ApiError(403, "forbidden", "This login is not linked to a specialist.")
        if specialist_id not in (None, who.specialist_id):
            raise ApiError(403, "forbidden", "A specialist manages only their own hours and slots.")
        specialist_id = who.specialist_id
    elif specialist_id is None:
        raise invalid("specialist_id", "specialist_id is required: whose hours are these?")
    specialist: Specialist | None = await session.get(Specialist, specialist_id)
    # A specialist at a facility the coordinator does not serve looks exactly like a missing one.
    if specialist is None or (who.role != "specialist" and not who.can_see(specialist.facility_id)):
        raise not_found("specialist")
    return specialist


async def list_hours(request: web.Request) -> web.Response:
    who = _manager(request)
    specialist_id = SPECIALIST_ID.read(request)
    async with request.app[DB].read() as session:
        if specialist_id is None and who.role != "specialist":
            query = select(Availability).join(Specialist, Specialist.id == Availability.specialist_id)
            if who.visible_facilities is not None:
                query = query.where(Specialist.facility_id.in_(who.visible_facilities))
            order = (Availability.specialist_id, Availability.weekday, Availability.start_time)
            windows = list((await session.execute(query.order_by(*order))).scalars())
        else:
            specialist = await _managed(session, who, specialist_id)
            windows = await slot_window.windows_of(session, specialist.id)
    return web.json_response({"items": [slot_window.hours_json(window) for window in windows]})


async def add_hours(request: web.Request) -> web.Response:
    who = _manager(request)
    body = await read_json_object(request)
    said = HOURS_REQUEST.parse(body)
    specialist_id = said["specialist_id"]
    hours = slot_window.Hours(said["weekday"], said["start"], said["end"], said["slot_minutes"])
    slot_window.check_span(hours.start, hours.end, hours.slot_minutes)

    async def operation(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        specialist = await _managed(session, who, specialist_id)
        window, added = await slot_window.add_hours(
            session, specialist.id, hours, who.who, request.app[TIMEZONE], utcnow()
        )
        return 201, {**slot_window.hours_json(window), "slots_added": added}

    return await run_idempotent(request, body, operation)


async def remove_hours(request: web.Request) -> web.Response:
    who = _manager(request)
    window_id = path_id(request)
    async with request.app[DB].write() as session:
        window = await session.get(Availability, window_id)
        if window is None:
            raise not_found("availability")
        await _managed(session, who, window.specialist_id)
        return web.json_response(await slot_window.remove_hours(session, window, utcnow()))


async def add_slot(request: web.Request) -> web.Response:
    who = _manager(request)
    body = await read_json_object(request)
    said = SINGLE_SLOT_REQUEST.parse(body)
    specialist_id, start, minutes = said["specialist_id"], said["start"], said["minutes"]

    async def operation(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        specialist = await _managed(session, who, specialist_id)
        slot = await slot_window.add_slot(session, specialist.id, start, minutes, utcnow())
        return 201, {**slot_json(slot, free=True), "availability_id": slot.availability_id}

    return await run_idempotent(request, body, operation)


async def remove_slot(request: web.Request) -> web.Response:
    who = _manager(request)
    slot_id = path_id(request)
    async with request.app[DB].write() as session:
        slot = await session.get(Slot, slot_id)
        if slot is None:
            raise not_found("slot")
        await _managed(session, who, slot.specialist_id)
        await slot_window.remove_slot(session, slot)
    return web.json_response({"id": slot_id, "removed": True})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/availability", list_hours)
    app.router.add_post("/availability", add_hours)
    app.router.add_delete("/availability/{id}", remove_hours)
    app.router.add_post("/slots", add_slot)
    app.router.add_delete("/slots/{id}", remove_slot)
