"""The People page: who may use the assistant, a page at a time; admins also register, deactivate, re-activate.

Supervisors read the people of their own facilities (the subtree under
theirs), admins everyone's; only admins change anything, with the same rules
as ``assistant worker add|deactivate|activate`` (``assistant.domain.people``).
A district holds thousands of people, so the list is searched, filtered and
cut into pages by the database (``assistant.domain.people_search``), and the
links between pages keep the search. A deactivated worker is refused on every
channel within 30 seconds; their records and transcripts stay reviewable.
Every view and change is audited.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from aiohttp import web

from assistant.console import audit, directory, params
from assistant.console.access import Viewer, viewer
from assistant.console.app_state import DB
from assistant.console.rendering import render
from assistant.core.vocabulary import PEOPLE_ROLES
from assistant.domain import people
from assistant.domain.people_search import (
    MAX_PAGE,
    PAGE_SIZE,
    SEARCH_LIMIT,
    PeoplePage,
    PeopleQuery,
    clean_role,
    clean_search,
    search_people,
)

# Who reads the page: the hub's roles never reach it (``assistant.console.pages``), workers never sign in.
READERS = ("admin", "supervisor")


class Refused(Exception):
    """A filter the page cannot apply, said in words on the page itself (with the status to answer)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Chosen:
    """What the viewer asked for, as they wrote it: kept in the form and in the links between pages."""

    search: str = ""
    facility: str = ""
    role: str = ""
    page: int = 1

    def as_query(self) -> dict[str, str]:
        values = {"q": self.search, "facility": self.facility, "role": self.role}
        return {name: value for name, value in values.items() if value}


def _back(form: Mapping[str, str]) -> str:
    """The page a change was made from, with its search (validated again: it came with the form)."""
    try:
        chosen = _chosen(form)
    except Refused:
        return "/people"
    query = {**chosen.as_query(), **({"page": str(chosen.page)} if chosen.page > 1 else {})}
    return f"/people?{urlencode(query)}" if query else "/people"


def _readers_only(request: web.Request) -> Viewer:
    who = viewer(request)
    if who.role not in READERS:
        raise web.HTTPForbidden(text="Only supervisors and admins see people.")
    return who


def _admin_only(request: web.Request) -> None:
    if not viewer(request).is_admin:
        raise web.HTTPForbidden(text="Only admins manage people.")


def _chosen(values: Mapping[str, str]) -> Chosen:
    try:
        search = clean_search(values.get("q", ""))
        role = clean_role(values.get("role", "")) or ""
        page = params.integer(values, "page", 1, 1, MAX_PAGE)
        facility = params.identifier(values, "facility") or ""
    except params.BadInput as exc:
        raise Refused(exc.text or "Check the filters.") from None
    except ValueError as exc:
        raise Refused(str(exc)) from None
    return Chosen(search, facility, role, page)


async def _query(request: web.Request, who: Viewer, chosen: Chosen) -> PeopleQuery:
    scope = who.visible_facilities
    if chosen.facility:
        if not who.can_see(chosen.facility):
            raise Refused("No such facility in your facilities; choose one from the list.", 404)
        under = await directory.subtree(request.app[DB], chosen.facility)
        scope = under if scope is None else scope & under
    return PeopleQuery(scope, chosen.search, chosen.role or None, chosen.page)


async def people_page(request: web.Request, *, error: str | None = None, status: int = 200) -> web.Response:
    who = _readers_only(request)
    chosen, found = Chosen(), PeoplePage([], 0, 1, 1)
    try:
        chosen = _chosen(request.query)
        async with request.app[DB].read() as session:
            found = await search_people(session, await _query(request, who, chosen))
        await audit.record(request, "view_people", json.dumps({**chosen.as_query(), "page": found.page})[:200])
    except Refused as refused:
        # Nothing is listed: the page says what to change, with the filters cleared.
        chosen, error, status = Chosen(), str(refused), refused.status
    facilities = await directory.facilities(request.app[DB], who)
    return render(
        request,
        "people.html",
        status=status,
        found=found,
        chosen=chosen,
        query=chosen.as_query(),
        facilities=facilities,
        facility_names={facility.id: facility.name for facility in facilities},
        roles=PEOPLE_ROLES,
        page_size=PAGE_SIZE,
        search_limit=SEARCH_LIMIT,
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
                form.get("facility_id", "").strip(),
                form.get("role", "worker"),
                form.get("designation", "").strip() or None,
            )
    except ValueError as exc:
        return await people_page(request, error=str(exc), status=400)
    await audit.record(request, "add_person", f"{added['role']} {added['id']}")
    # The new person's row, found by their id: on the first page or the fortieth.
    raise web.HTTPSeeOther(f"/people?{urlencode({'q': added['id']})}")


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
    raise web.HTTPSeeOther(_back(form))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/people", people_page)
    app.router.add_post("/people", add_person)
    app.router.add_post("/people/{id}/active", set_active)
