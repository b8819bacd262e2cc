"""Admins manage who may use the assistant: register, deactivate and re-activate people.

The same rules as ``assistant worker add|deactivate|activate``
(``assistant.domain.people``). A deactivated worker is refused on every
channel within 30 seconds; their records and transcripts stay reviewable.
Every change is audited.
"""

from __future__ import annotations

from aiohttp import web

from assistant.console import audit, directory, params
from assistant.console.access import viewer
from assistant.console.app_state import DB
from assistant.console.rendering import render
from assistant.core.vocabulary import PEOPLE_ROLES
from assistant.domain import people


def _admin_only(request: web.Request) -> None:
    if not viewer(request).is_admin:
        raise web.HTTPForbidden(text="Only admins manage people.")


async def people_page(request: web.Request, *, error: str | None = None, status: int = 200) -> web.Response:
    _admin_only(request)
    async with request.app[DB].read() as session:
        everyone = await people.all_workers(session)
    if error is None:
        await audit.record(request, "view_people")
    return render(
        request,
        "people.html",
        status=status,
        people=everyone,
        facilities=await directory.facilities(request.app[DB], viewer(request)),
        roles=PEOPLE_ROLES,
        error=error,
    )


async def add_person(request: web.Request) -> web.Response:
    _admin_only(request)
    form = await params.form_fields(request)
    worker_id = (params.identifier(form, "worker_id") or "").upper()
    try:
        async with request.app[DB].write() as session:
            added = await people.add_worker(
                session,
                worker_id,
                form.get("name", ""),
                form.get("facility_id", ""),
                form.get("role", "worker"),
                form.get("designation", "").strip() or None,
            )
    except ValueError as exc:
        return await people_page(request, error=str(exc), status=400)
    await audit.record(request, "add_person", f"{added['role']} {added['id']}")
    raise web.HTTPSeeOther("/people")


async def set_active(request: web.Request) -> web.Response:
    _admin_only(request)
    worker_id = request.match_info["id"]
    form = await params.form_fields(request)
    active = form.get("active", "") in params.TRUE_VALUES
    if not active and worker_id == viewer(request).worker_id:
        return await people_page(request, error="You cannot deactivate yourself.", status=400)
    try:
        async with request.app[DB].write() as session:
            await people.set_active(session, worker_id, active)
    except ValueError as exc:
        return await people_page(request, error=str(exc), status=404)
    await audit.record(request, "activate_person" if active else "deactivate_person", f"account {worker_id}")
    raise web.HTTPSeeOther("/people")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/people", people_page)
    app.router.add_post("/people", add_person)
    app.router.add_post("/people/{id}/active", set_active)
