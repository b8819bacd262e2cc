"""The Hub desk: the coordinator's queue and assign/reschedule/cancel, the specialists' day lists and outcomes.

Every action is one form POST (CSRF-checked like every console form) done
by ``assistant.domain.hub_operations`` in one transaction with its audit row, so an
action is never done unaudited. A refusal (``HubError``) re-shows the desk
with what happened in words, with the status that fits: 409 when someone
else got there first, never a 500. Success redirects back to the desk
(post/redirect/get), to the day the consult is now on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.console import audit, hub_desk, params, tracker
from assistant.console.access import viewer
from assistant.console.app_state import DB, SETTINGS, TRACKER
from assistant.console.pages import HUB_ACTION, HUB_ACTIONS, HUB_CONVERSATION, HUB_DESK
from assistant.console.rendering import render
from assistant.console.scope import NotVisible
from assistant.core.clock import Clock
from assistant.core.config import Settings
from assistant.core.rules import (
    ADVICE_LIMIT,
    ASSIGNABLE_STATUSES,
    CANCELLABLE_STATUSES,
    CLOSABLE_STATUSES,
    HUB_REASON_LIMIT,
    REFERABLE_STATUSES,
    RESCHEDULABLE_STATUSES,
    TASK_DAYS_AHEAD,
    TASK_TEXT_LIMIT,
)
from assistant.core.vocabulary import URGENCIES
from assistant.db.models import utcnow
from assistant.domain import hub_operations, tasks

# The complete dialog offers this many follow-up rows (the API takes up to rules.MAX_FOLLOW_UPS).
FOLLOW_UP_ROWS = 3
STATUS_OF = {"not_found": 404, "conflict": 409, "invalid": 400, "forbidden": 403}
# What a lost race means, in the desk's words, by what the consult is now.
CONFLICT_LEAD = {
    "scheduled": "Someone else just assigned it",
    "cancelled": "It was just cancelled",
    "completed": "Someone else just completed it",
    "no_show": "Someone else just marked it missed",
}
# The states each action starts from: a consult still in one after a conflict lost only its slot.
STARTS_FROM = {
    "assign": ASSIGNABLE_STATUSES,
    "reschedule": RESCHEDULABLE_STATUSES,
    "refer": REFERABLE_STATUSES,
    "cancel": CANCELLABLE_STATUSES,
    "complete": CLOSABLE_STATUSES,
    "no-show": CLOSABLE_STATUSES,
}
SLOT_LOST = {
    "assign": "Someone else just took that slot; choose another.",
    "reschedule": "Someone else just took that slot or moved this consult; choose again.",
}
DONE = {
    "assign": "Consult {id} is scheduled; the worker will be told.",
    "reschedule": "Consult {id} is moved; the worker will be told.",
    "refer": "Consult {id} is referred to the other hub's queue; the worker will be told why.",
    "cancel": "Consult {id} is cancelled; the worker will be told why.",
    "complete": "Consult {id} is completed; the worker will hear the advice, and is reminded of any follow-up.",
    "no-show": "Consult {id} is marked as missed; the worker will be asked to request again if needed.",
}
assert set(DONE) == set(HUB_ACTIONS)


def _slot(form: Mapping[str, str]) -> int:
    raw = form.get("slot_id", "").strip()
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise hub_operations.HubError("invalid", "Choose a slot.", field="slot_id")
    return int(raw)


async def _operate(
    session: AsyncSession,
    action: str,
    consult_id: int,
    form: Mapping[str, str],
    who: hub_operations.HubActor,
    settings: Settings,
) -> tuple[dict[str, Any], str]:
    """Do ``action`` through ``assistant.domain.hub_operations``; the consult and the audit target."""
    now, target, zone = utcnow(), f"consult {consult_id}", settings.timezone
    if action in ("assign", "reschedule"):
        slot_id = _slot(form)
        move = hub_operations.assign if action == "assign" else hub_operations.reschedule
        return await move(session, who, consult_id, slot_id, now, zone), f"{target} slot {slot_id}"
    if action == "refer":
        to_hub = form.get("hub_id", "")
        referred = await hub_operations.refer(session, who, consult_id, to_hub, form.get("reason", ""), now, zone)
        return referred, f"{target} to hub {to_hub}"[:200]
    if action == "cancel":
        # The hub's own checks (required, length, control characters) apply: assistant.domain.hub_operations.
        return await hub_operations.cancel(session, who, consult_id, form.get("reason", ""), now, zone), target
    if action == "complete":
        advice, follow_up = form.get("advice", ""), form.get("follow_up") or None
        clock = Clock(zone, settings.clock_offset_days)
        completed = await tasks.complete_consult(
            session, who, consult_id, advice, follow_up, _follow_ups(form), now=now, today=clock.today(), timezone=zone
        )
        return completed, target
    return await hub_operations.no_show(session, who, consult_id, now, zone), target


def _follow_ups(form: Mapping[str, str]) -> list[tasks.FollowUp]:
    """The complete dialog's follow-up rows (``follow_up_task_N`` in ``follow_up_days_N`` days); blank rows skipped."""
    found = []
    for row in range(1, FOLLOW_UP_ROWS + 1):
        what = form.get(f"follow_up_task_{row}", "").strip()
        if not what:
            continue
        days = form.get(f"follow_up_days_{row}", "").strip()
        if not days.isdigit() or int(days) > TASK_DAYS_AHEAD:
            message = f"Follow-up {row}: say in how many days it is due (0 to {TASK_DAYS_AHEAD})."
            raise hub_operations.HubError("invalid", message, field=f"follow_up_days_{row}")
        found.append(tasks.FollowUp(what, in_days=int(days)))
    return found


def _audit_name(action: str) -> str:
    return "hub_" + action.replace("-", "_")


def _today(settings: Settings) -> dt.date:
    return utcnow().astimezone(ZoneInfo(settings.timezone)).date()


def _desk_url(day: dt.date | None, chosen: int | None, **extra: str) -> str:
    query = {"date": day.isoformat() if day else None, "specialist": str(chosen) if chosen else None, **extra}
    kept = {name: value for name, value in query.items() if value}
    return HUB_DESK + ("?" + urlencode(kept) if kept else "")


def _choice(values: Mapping[str, str]) -> tuple[dt.date | None, int | None]:
    """The day and specialist the desk shows (query on a GET, hidden fields on a form)."""
    chosen = params.integer(values, "specialist", 0, 0, 2**31 - 1)
    return params.date(values, "date"), chosen or None


def _done_message(values: Mapping[str, str]) -> str | None:
    """Only our own fixed sentences, filled with a number: a link cannot make the desk say anything else."""
    done, consult = values.get("done", ""), values.get("consult", "")
    return DONE[done].format(id=consult) if done in DONE and consult.isdigit() and len(consult) < 12 else None


async def desk_page(
    request: web.Request,
    values: Mapping[str, str],
    *,
    problem: str | None = None,
    problem_consult: int | None = None,
    status: int = 200,
) -> web.Response:
    settings: Settings = request.app[SETTINGS]
    who = viewer(request)
    day, chosen = _choice(values)
    day = day or _today(settings)
    async with request.app[DB].read() as session:
        today = Clock(settings.timezone, settings.clock_offset_days).today()
        desk = await hub_desk.load(session, who, day, chosen, utcnow(), settings.timezone, today)
    # Recorded before anything is shown; targets name counts, days and specialists, never patients.
    if desk.queue is not None:
        await audit.record(request, "hub_queue_view", f"{len(desk.queue)} queued")
    shown = ",".join(str(block.specialist.id) for block in desk.day_lists) or "none"
    await audit.record(request, "hub_day_list_view", f"{day.isoformat()} specialists {shown}"[:200])
    return render(
        request,
        "hub.html",
        status=status,
        desk=desk,
        problem=problem,
        problem_consult=problem_consult,
        done=_done_message(values) if problem is None else None,
        waited=hub_desk.waited,
        moment=hub_desk.moment,
        vitals_line=hub_desk.vitals_line,
        specialty_name=hub_desk.specialty_name,
        urgent=lambda urgency: urgency in URGENCIES[1:],  # urgent and emergency stand out
        desk_url=_desk_url,
        today=_today(settings),
        # The forms' own limits are the backend's: a browser refuses what the hub's operations would.
        advice_limit=ADVICE_LIMIT,
        reason_limit=HUB_REASON_LIMIT,
        follow_up_rows=range(1, FOLLOW_UP_ROWS + 1),
        task_limit=TASK_TEXT_LIMIT,
        task_days=TASK_DAYS_AHEAD,
    )


async def hub_page(request: web.Request) -> web.Response:
    return await desk_page(request, request.query)


async def _conflict_message(request: web.Request, action: str, consult_id: int, error: hub_operations.HubError) -> str:
    """Say who got there first: read what the consult is now (the lost race changed nothing of ours)."""
    async with request.app[DB].read() as session:
        try:
            status = (await hub_operations.visible_consult(session, hub_desk.actor(viewer(request)), consult_id)).status
        except hub_operations.HubError:
            return error.message
    if status in STARTS_FROM[action] and action in SLOT_LOST:
        return SLOT_LOST[action]
    if status in CONFLICT_LEAD:
        return f"{CONFLICT_LEAD[status]}. {error.message}"
    return error.message


async def hub_action(request: web.Request) -> web.Response:
    settings: Settings = request.app[SETTINGS]
    consult_id = params.path_id(request)
    action = request.match_info["action"]
    form = await params.form_fields(request)
    day, chosen = _choice(form)
    try:
        async with request.app[DB].write() as session:
            result, target = await _operate(
                session, action, consult_id, form, hub_desk.actor(viewer(request)), settings
            )
            # In the same transaction: the change and its audit row are kept together, or neither is.
            session.add(audit.entry(request, _audit_name(action), target))
    except hub_operations.HubError as error:
        await audit.record(request, _audit_name(action) + "_refused", f"consult {consult_id}: {error.kind}")
        message = (
            await _conflict_message(request, action, consult_id, error) if error.kind == "conflict" else error.message
        )
        return await desk_page(
            request, form, problem=message, problem_consult=consult_id, status=STATUS_OF.get(error.kind, 400)
        )
    scheduled = hub_desk.moment(result.get("scheduled_for"))
    if action in ("assign", "reschedule") and scheduled is not None:
        # Show the day the consult is now on, where the coordinator can see it booked.
        day = scheduled.astimezone(ZoneInfo(settings.timezone)).date()
    raise web.HTTPSeeOther(_desk_url(day, chosen, done=action, consult=str(consult_id)) + f"#consult-{consult_id}")


async def hub_conversation(request: web.Request) -> web.Response:
    """The conversation in which the worker asked for this consult, for whoever may see the consult."""
    consult_id = params.path_id(request)
    async with request.app[DB].read() as session:
        try:
            consult = await hub_operations.visible_consult(session, hub_desk.actor(viewer(request)), consult_id)
        except hub_operations.HubError:
            raise NotVisible("consult") from None
        sender, asked_at, linked = consult.requested_by, consult.created_at, consult.conversation_id
    conversation_id = None
    if linked == sender and await tracker.ready(request.app):
        async with request.app[TRACKER].read() as session:
            conversation_id = await tracker.session_at(session, sender, asked_at.timestamp())
    if conversation_id is None:
        raise web.HTTPNotFound(text="This consult was not asked for in a conversation the console keeps.")
    await audit.record(request, "hub_open_conversation", f"consult {consult_id} conversation {conversation_id}")
    raise web.HTTPSeeOther(f"/conversations/{conversation_id}")


def add_routes(app: web.Application) -> None:
    app.router.add_get(HUB_DESK, hub_page)
    app.router.add_get(HUB_CONVERSATION, hub_conversation)
    action_route = HUB_ACTION.replace("{action}", "{action:" + "|".join(HUB_ACTIONS) + "}")
    app.router.add_post(action_route, hub_action)
