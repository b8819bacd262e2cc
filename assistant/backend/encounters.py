"""HTTP handlers for patient encounters.

Who reads which: a worker their own; a supervisor, coordinator or admin those
of the facilities they see (``assistant.domain.scoping``); a specialist only
those of the patients of consults assigned to them (not cancelled), the
context their call needs, never a whole facility's.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.sql.elements import ColumnElement

from assistant.backend.app_state import DB
from assistant.backend.auth import clinical_author, principal, record_channel
from assistant.backend.errors import not_found
from assistant.backend.fields import Filter, Parameter
from assistant.backend.idempotency import run_idempotent
from assistant.backend.listing import paged_response
from assistant.backend.validation import parse_encounter, path_id, read_json_object
from assistant.core import metrics
from assistant.db.models import Consult, Encounter
from assistant.domain.fhir import encounter_bundle
from assistant.domain.records import encounter_json

# GET /encounters narrows the caller's encounters by these (and pages them).
WORKER = Parameter("query", Filter("worker"))
PATIENT_REF = Parameter("query", Filter("patient_ref"))


async def create_encounter(request: web.Request) -> web.Response:
    who = clinical_author(request)
    body = await read_json_object(request)
    parsed = parse_encounter(body)

    async def operation(session: Any) -> tuple[int, dict[str, Any]]:
        encounter = Encounter(
            patient_ref=parsed.patient_ref,
            age_years=parsed.age_years,
            sex=parsed.sex,
            complaint=parsed.complaint,
            notes=parsed.notes,
            worker_id=who.worker_id,
            facility_id=who.facility_id,
            channel=record_channel(who, parsed.channel),
            conversation_id=who.worker_id,  # the sender id is the worker id, whatever the body says
            **parsed.vitals,
        )
        session.add(encounter)
        await session.flush()
        await session.refresh(encounter)
        return 201, encounter_json(encounter)

    return await run_idempotent(request, body, operation, count_encounter)


def count_encounter(status: int, encounter: dict[str, Any]) -> None:
    metrics.ENCOUNTERS.labels(metrics.channel_label(encounter.get("channel"))).inc()


def assigned_patient(specialist_id: int | None) -> ColumnElement[bool]:
    """The encounter is of a patient (at the same facility) of a consult assigned to the specialist."""
    return (
        select(Consult.id)
        .where(
            Consult.specialist_id == specialist_id,
            Consult.status != "cancelled",
            Consult.patient_ref == Encounter.patient_ref,
            Consult.facility_id == Encounter.facility_id,
        )
        .exists()
    )


async def list_encounters(request: web.Request) -> web.Response:
    query = select(Encounter)
    who = principal(request)
    if who.own_records_only:
        query = query.where(Encounter.worker_id == who.worker_id)
    specialist = who.role == "specialist"
    if specialist:
        query = query.where(assigned_patient(who.specialist_id))
    worker, patient_ref = WORKER.read(request), PATIENT_REF.read(request)
    if worker is not None:
        query = query.where(Encounter.worker_id == worker)
    if patient_ref is not None:
        query = query.where(Encounter.patient_ref == patient_ref)
    order = (Encounter.created_at.desc(), Encounter.id.desc())
    return await paged_response(request, query, Encounter.facility_id, order, encounter_json, already_scoped=specialist)


async def _visible_encounter(request: web.Request) -> Encounter:
    encounter_id = path_id(request)
    who = principal(request)
    async with request.app[DB].read() as session:
        if who.role == "specialist":
            query = select(Encounter).where(Encounter.id == encounter_id, assigned_patient(who.specialist_id))
            encounter: Encounter | None = (await session.execute(query)).scalar_one_or_none()
        else:
            encounter = await session.get(Encounter, encounter_id)
            if encounter is not None and not who.can_see(encounter.facility_id, owner=encounter.worker_id):
                encounter = None
    if encounter is None:
        raise not_found("encounter")  # an invisible record looks exactly like a missing one
    return encounter


async def get_encounter(request: web.Request) -> web.Response:
    return web.json_response(encounter_json(await _visible_encounter(request)))


async def get_encounter_fhir(request: web.Request) -> web.Response:
    bundle = encounter_bundle(await _visible_encounter(request))
    return web.json_response(bundle, content_type="application/fhir+json")


def add_routes(app: web.Application) -> None:
    app.router.add_post("/encounters", create_encounter)
    app.router.add_get("/encounters", list_encounters)
    app.router.add_get("/encounters/{id}", get_encounter)
    app.router.add_get("/encounters/{id}/fhir", get_encounter_fhir)
