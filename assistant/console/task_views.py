"""The Follow-ups page: the specialists' advice turned into workers' tasks, open, overdue and done (issue 28).

Supervisors see the tasks of their facilities (the subtree under theirs),
admins everyone's; the hub's roles never open it (``assistant.console.pages``).
First how each facility's workers stand (open, overdue, done, cancelled), then
the tasks themselves, overdue first, narrowed by facility, worker and state.
Tasks name their patient, so every view is audited (by counts, never by patient).
"""

from __future__ import annotations

from aiohttp import web

from assistant.console import audit, directory, params
from assistant.console.access import viewer
from assistant.console.app_state import DB, SETTINGS
from assistant.console.rendering import render
from assistant.core.clock import Clock
from assistant.domain import tasks

FOLLOW_UPS = "/follow-ups"
LIMIT = 200
STATES = ("open", "done", "cancelled")


async def follow_ups_page(request: web.Request) -> web.Response:
    who = viewer(request)
    db = request.app[DB]
    settings = request.app[SETTINGS]
    today = Clock(settings.timezone, settings.clock_offset_days).today()
    facility = params.identifier(request.query, "facility")
    worker = params.identifier(request.query, "worker")
    state = request.query.get("state") or "open"
    if state not in STATES:
        raise params.BadInput(f"state: one of {', '.join(STATES)}.")
    scope = who.visible_facilities
    if facility:
        if not who.can_see(facility):
            raise web.HTTPNotFound(text="No such facility in your facilities.")
        scope = await directory.subtree(db, facility)
    people = await directory.workers(db, who)
    if worker and worker not in people:
        raise web.HTTPNotFound(text="No such worker in your facilities.")
    places = {place.id: place.name for place in await directory.facilities(db, who)}
    async with db.read() as session:
        standing = await tasks.standing(session, scope, today)
        found = await tasks.tasks_of(session, tasks.listing(worker_id=worker, facilities=scope, state=state), LIMIT)
    items = [tasks.task_json(task, today) for task in found]
    if state != "open":  # the latest closed first
        items.sort(key=lambda item: item["done_at"] or item["cancelled_at"] or "", reverse=True)
    overdue = sum(row.overdue for row in standing)
    await audit.record(
        request,
        "view_follow_ups",
        f"{state} {len(items)} tasks, {overdue} overdue"
        + (f", facility {facility}" if facility else "")
        + (f", worker {worker}" if worker else ""),
    )
    return render(
        request,
        "follow_ups.html",
        standing=standing,
        items=items,
        people=people,
        places=places,
        state=state,
        states=STATES,
        facility=facility or "",
        worker=worker or "",
        today=today,
        limit=LIMIT,
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get(FOLLOW_UPS, follow_ups_page)
