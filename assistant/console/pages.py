"""Which pages each role may open, checked on the matched route before any handler runs.

Supervisors and admins have the review console (conversations, flags,
dashboard, deliveries, exports, the people of their facilities; admins also
manage people and read the audit log). The
hub's people have the Hub desk: a coordinator may also read the
conversations (and their records) of the facilities its hub serves; a
specialist only the conversation in which a consult assigned to them was
asked for (``assistant.console.scope``). For the hub's roles the list below
is an allow-list: a page added later stays closed to them until it is named
here. A supervisor never gets the Hub desk; an admin may run it, as
``assistant.domain.hub_operations`` lets an admin do.
"""

from __future__ import annotations

from aiohttp import web

from assistant.console.access import Handler, is_public
from assistant.core.vocabulary import HUB_ROLES

HUB_DESK = "/hub"
# One route for every desk action; ``assistant.domain.hub_operations`` decides who may do which.
HUB_ACTION = "/hub/consults/{id}/{action}"
HUB_ACTIONS = ("assign", "reschedule", "refer", "cancel", "complete", "no-show")
HUB_CONVERSATION = "/hub/consults/{id}/conversation"
# Who may open the Hub desk at all.
DESK_ROLES = (*HUB_ROLES, "admin")

_SPECIALIST_ROUTES = frozenset(
    {
        ("GET", "/"),
        ("GET", HUB_DESK),
        ("POST", HUB_ACTION),
        ("GET", HUB_CONVERSATION),
        ("GET", "/conversations/{id}"),
        ("POST", "/logout"),
    }
)
HUB_ROUTES: dict[str, frozenset[tuple[str, str]]] = {
    "specialist": _SPECIALIST_ROUTES,
    # Reading, never exporting: no FHIR bundle, no transcript download, no review marks.
    "coordinator": _SPECIALIST_ROUTES
    | {("GET", "/conversations"), ("GET", "/encounters/{id}"), ("GET", "/consults/{id}")},
}


def home_path(role: str) -> str:
    """Where a sign-in lands when it names no page."""
    return HUB_DESK if role in HUB_ROLES else "/conversations"


def may_open(role: str, method: str, route: str) -> bool:
    method = "GET" if method == "HEAD" else method
    if role in HUB_ROUTES:
        return (method, route) in HUB_ROUTES[role]
    if route == HUB_DESK or route.startswith(HUB_DESK + "/"):
        return role in DESK_ROLES
    return True


@web.middleware
async def keep_to_role(request: web.Request, handler: Handler) -> web.StreamResponse:
    who = request.get("viewer")
    resource = request.match_info.route.resource
    # Sign-in, health and styles are everyone's; unmatched paths (no resource) fall through to their 404.
    if (
        who is not None
        and resource is not None
        and not is_public(request.path)
        and not may_open(who.role, request.method, resource.canonical)
    ):
        if who.is_hub:
            raise web.HTTPForbidden(text="This page is for supervisors. Your account opens the Hub desk (/hub).")
        raise web.HTTPForbidden(text="The Hub desk is for the hub's coordinators and specialists.")
    return await handler(request)
