"""The Deliveries page: what never reached the hub or the worker, for supervisors (their facilities) and admins.

Records the hub rejected name their patient, so viewing the page is audited
like any other page with patient data.
"""

from __future__ import annotations

from aiohttp import web

from assistant.console import audit, deliveries, directory
from assistant.console.access import viewer
from assistant.console.app_state import DB, SETTINGS
from assistant.console.rendering import render


async def deliveries_page(request: web.Request) -> web.Response:
    who = viewer(request)
    people = await directory.workers(request.app[DB], who)
    # An admin sees everyone's, also of workers no longer in the directory.
    scope = None if who.is_admin else list(people)
    settings = request.app[SETTINGS]
    rejected = await deliveries.rejected_records(settings.data_dir, scope)
    dead = await deliveries.dead_letters(settings.channels_database_url, scope)
    await audit.record(request, "view_deliveries", f"{len(rejected)} rejected records, {len(dead)} dead letters")
    return render(request, "deliveries.html", rejected=rejected, dead=dead, people=people, limit=deliveries.LIMIT)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/deliveries", deliveries_page)
