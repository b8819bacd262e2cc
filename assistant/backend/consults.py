"""HTTP handlers for consult requests."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from assistant.backend.app_state import DB
from assistant.backend.auth import Principal, clinical_author, principal, record_channel
from assistant.backend.booking import book
from assistant.backend.errors import ApiError, not_found
from assistant.backend.fields import Body, Filter, Parameter, choice
from assistant.backend.hub_routes import CANCEL_REASON, SPECIALIST, hub_cancel, specialist_day
from assistant.backend.idempotency import run_idempotent
from assistant.backend.listing import paged_response
from assistant.backend.validation import parse_consult, path_id, read_json_object
from assistant.core import metrics
from assistant.core.vocabulary import CONSULT_STATUSES
from assistant.db.models import Consult, Slot, utcnow
from assistant.domain import hub_operations
from assistant.domain.fhir import consult_bundle
from assistant.domain.records import consult_json

# GET /consults narrows the caller's consults by these (and pages them); the desk's and a
# specialist's day are hub_routes.specialist_day's.
REQUESTED_BY = Parameter("query", Filter("requested_by"))
STATUS = Parameter("query", choice("status", CONSULT_STATUSES, any_case=False))
PATIENT_REF = Parameter("query", Filter("patient_ref"))
# A worker's (or their supervisor's) cancel; the hub desk's must give the reason (hub_routes.HUB_CANCEL).
CANCEL_REQUEST = Body("CancelRequest", CANCEL_REASON)


async def create_consult(request: web.Request) -> web.Response:
    who = clinical_author(request)
    body = await read_json_object(request)
    parsed = parse_consult(body)

    async def operation(session: Any) -> tuple[int, dict[str, Any]]:
        consult = Consult(
            patient_ref=parsed.patient_ref,
            specialty=parsed.specialty,
            urgency=parsed.urgency,
            reason=parsed.reason,
            status="requested",
            requested_by=who.worker_id,
            facility_id=who.facility_id,
            hub_id=who.hub_id,  # the hub serving the worker's facility: only its specialists are booked
            channel=record_channel(who, parsed.channel),
            conversation_id=who.worker_id,  # the sender id is the worker id, whatever the body says
        )
        await book(session, consult, utcnow())
        return 201, consult_json(consult)

    return await run_idempotent(request, body, operation, count_consult)


def count_consult(status: int, consult: dict[str, Any]) -> None:
    """A consult request saved: booked into a slot at once, or waiting in the hub's queue."""
    metrics.CONSULTS.labels("booked" if consult.get("status") == "scheduled" else "queued").inc()


async def list_consults(request: web.Request) -> web.Response:
    who = principal(request)
    # A specialist's list is their day; the desk asks for one specialist's day by naming them.
    if who.role == "specialist" or (who.role in ("coordinator", "admin") and SPECIALIST.given(request)):
        return await specialist_day(request)
    query = select(Consult)
    if who.own_records_only:
        query = query.where(Consult.requested_by == who.worker_id)
    requested_by, patient_ref, status = REQUESTED_BY.read(request), PATIENT_REF.read(request), STATUS.read(request)
    if requested_by is not None:
        query = query.where(Consult.requested_by == requested_by)
    if patient_ref is not None:
        query = query.where(Consult.patient_ref == patient_ref)
    if status is not None:
        query = query.where(Consult.status == status)
    order = (Consult.created_at.desc(), Consult.id.desc())
    return await paged_response(request, query, Consult.facility_id, order, consult_json)


async def _visible_consult(session: Any, who: Principal, consult_id: int) -> Consult:
    consult: Consult | None = await session.get(Consult, consult_id)
    # An invisible record looks exactly like a missing one.
    if consult is None or not who.sees_consult(consult):
        raise not_found("consult")
    return consult


async def get_consult(request: web.Request) -> web.Response:
    consult_id = path_id(request)
    async with request.app[DB].read() as session:
        consult = await _visible_consult(session, principal(request), consult_id)
        return web.json_response(consult_json(consult))


async def get_consult_fhir(request: web.Request) -> web.Response:
    consult_id = path_id(request)
    async with request.app[DB].read() as session:
        consult = await _visible_consult(session, principal(request), consult_id)
        slot: Slot | None = await session.get(Slot, consult.slot_id) if consult.slot_id is not None else None
        bundle = consult_bundle(consult, slot.ends_at if slot is not None else None)
    return web.json_response(bundle, content_type="application/fhir+json")


async def cancel_consult(request: web.Request) -> web.Response:
    """The worker who asked (or their supervisor) withdraws a consult; the hub desk cancels with a reason."""
    who = principal(request)
    if who.role in ("coordinator", "admin"):
        return await hub_cancel(request)
    if who.role == "specialist":
        raise ApiError(403, "forbidden", "A specialist completes a consult or marks a no-show; the hub desk cancels.")
    who.require_worker()
    consult_id = path_id(request)
    body = await read_json_object(request, allow_empty=True)
    reason = CANCEL_REQUEST.parse(body)["reason"]

    async def operation(session: Any) -> tuple[int, dict[str, Any]]:
        consult = await _visible_consult(session, who, consult_id)
        own = consult.requested_by == who.worker_id
        outcome = await hub_operations.worker_cancel(session, consult, by=who.who, reason=reason, now=utcnow(), own=own)
        if outcome.consult is None:
            # Answered, not raised: the transaction that marks the news as told must commit.
            return 409, ApiError(409, "conflict", outcome.message, notices=outcome.news).body()
        return 200, outcome.consult

    return await run_idempotent(request, body, operation)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/consults", create_consult)
    app.router.add_get("/consults", list_consults)
    app.router.add_get("/consults/{id}", get_consult)
    app.router.add_post("/consults/{id}/cancel", cancel_consult)
    app.router.add_get("/consults/{id}/fhir", get_consult_fhir)
