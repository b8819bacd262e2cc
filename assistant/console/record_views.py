"""Pages: a saved encounter or consult, and an encounter's FHIR bundle."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from assistant.console import audit, directory, params
from assistant.console.access import viewer
from assistant.console.app_state import DB
from assistant.console.rendering import render
from assistant.console.scope import NotVisible
from assistant.db.models import Consult, Encounter
from assistant.domain.fhir import encounter_bundle
from assistant.domain.records import consult_json, encounter_json


async def _visible(request: web.Request, model: type, what: str) -> Any:
    record_id = params.path_id(request)
    found = await directory.record(request.app[DB], model, record_id)
    if found is None or not viewer(request).can_see(found.facility_id):
        raise NotVisible(what)
    return found


async def encounter_page(request: web.Request) -> web.Response:
    encounter = await _visible(request, Encounter, "encounter")
    await audit.record(request, "view_encounter", f"encounter {encounter.id}")
    return render(request, "record.html", kind="encounter", record=encounter_json(encounter), record_id=encounter.id)


async def consult_page(request: web.Request) -> web.Response:
    consult = await _visible(request, Consult, "consult")
    await audit.record(request, "view_consult", f"consult {consult.id}")
    return render(request, "record.html", kind="consult", record=consult_json(consult), record_id=consult.id)


async def encounter_fhir(request: web.Request) -> web.Response:
    encounter = await _visible(request, Encounter, "encounter")
    await audit.record(request, "export_encounter_fhir", f"encounter {encounter.id}")
    return web.json_response(
        encounter_bundle(encounter),
        content_type="application/fhir+json",
        headers={"Content-Disposition": f'attachment; filename="encounter-{encounter.id}-fhir.json"'},
        dumps=lambda value: json.dumps(value, ensure_ascii=False, indent=2),
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/encounters/{id}", encounter_page)
    app.router.add_get("/encounters/{id}/fhir", encounter_fhir)
    app.router.add_get("/consults/{id}", consult_page)
