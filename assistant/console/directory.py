"""Workers, facilities and clinical records from the backend database, within a viewer's scope."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from assistant.console.access import Viewer
from assistant.console.tracker import epoch_seconds, json_array_agg
from assistant.db.engine import Database
from assistant.db.models import Consult, Encounter, Facility, Worker
from assistant.domain.scoping import facility_subtree


@dataclass(frozen=True)
class WorkerInfo:
    id: str
    name: str
    facility_id: str
    role: str
    designation: str | None


# The two kinds of record a conversation links to.
Record = type[Consult] | type[Encounter]
# Who made each kind: a record belongs to a conversation only if its author is the conversation's worker.
AUTHORS: dict[type, Any] = {Consult: Consult.requested_by, Encounter: Encounter.worker_id}


def linked_records(model: Record, viewer: Viewer) -> list[Any]:
    """Conditions for the records a viewer sees in conversations: made by the conversation's
    worker (a ``conversation_id`` naming anyone else was planted) and in the viewer's facilities."""
    conditions = [model.conversation_id.is_not(None), model.conversation_id == AUTHORS[model]]
    if viewer.visible_facilities is not None:
        conditions.append(model.facility_id.in_(viewer.visible_facilities))
    return conditions


@dataclass(frozen=True)
class FacilityInfo:
    id: str
    name: str
    district: str


async def facilities(db: Database, viewer: Viewer) -> list[FacilityInfo]:
    """The facilities a viewer may pick, by name: what a picker shows (a district has hundreds)."""
    query = select(Facility.id, Facility.name, Facility.district).order_by(Facility.name)
    if viewer.visible_facilities is not None:
        query = query.where(Facility.id.in_(sorted(viewer.visible_facilities)))
    async with db.read() as session:
        rows = (await session.execute(query)).all()
    return [FacilityInfo(*row) for row in rows]


async def workers(db: Database, viewer: Viewer, facility_ids: Iterable[str] | None = None) -> dict[str, WorkerInfo]:
    """Everyone whose conversations the viewer may read (optionally only under some facilities)."""
    query = select(Worker.id, Worker.name, Worker.facility_id, Worker.role, Worker.designation).order_by(Worker.name)
    if viewer.visible_facilities is not None:
        query = query.where(Worker.facility_id.in_(viewer.visible_facilities))
    if facility_ids is not None:
        query = query.where(Worker.facility_id.in_(list(facility_ids)))
    async with db.read() as session:
        rows = (await session.execute(query)).all()
    return {row.id: WorkerInfo(*row) for row in rows}


async def worker(db: Database, worker_id: str) -> WorkerInfo | None:
    async with db.read() as session:
        row = await session.get(Worker, worker_id)
    return None if row is None else WorkerInfo(row.id, row.name, row.facility_id, row.role, row.designation)


async def subtree(db: Database, facility_id: str) -> frozenset[str]:
    async with db.read() as session:
        return await facility_subtree(session, facility_id)


async def record_times(
    db: Database,
    viewer: Viewer,
    model: Record,
    senders: Sequence[str] | None,
    since: float | None,
    until: float | None,
) -> list[tuple[str, float]]:
    """(conversation id, creation time) of every consult or encounter linked to a conversation.

    Tens of thousands at district scale: the database sends one JSON array of
    times per conversation id rather than a row per record.
    """
    query = (
        select(model.conversation_id, json_array_agg(epoch_seconds(model.created_at)))
        .where(*linked_records(model, viewer))
        .group_by(model.conversation_id)
    )
    if senders is not None:
        query = query.where(model.conversation_id.in_(list(senders)))
    if since is not None:
        query = query.where(model.created_at >= dt.datetime.fromtimestamp(since, dt.timezone.utc))
    if until is not None:
        query = query.where(model.created_at < dt.datetime.fromtimestamp(until, dt.timezone.utc))
    async with db.read() as session:
        rows = (await session.execute(query)).all()
    return [(sender, float(moment)) for sender, times in rows for moment in json.loads(times)]


async def records_for(db: Database, viewer: Viewer, model: Record, senders: Sequence[str], since: float) -> list[Any]:
    """Consults or encounters of these conversations created since ``since`` (oldest first)."""
    if not senders:
        return []
    query = (
        select(model)
        .where(
            *linked_records(model, viewer),
            model.conversation_id.in_(list(senders)),
            model.created_at >= dt.datetime.fromtimestamp(since, dt.timezone.utc),
        )
        .order_by(model.created_at)
    )
    async with db.read() as session:
        return list((await session.execute(query)).scalars().all())


async def record(db: Database, model: type, record_id: int) -> Any:
    async with db.read() as session:
        return await session.get(model, record_id)


RECORD_MODELS: dict[str, type] = {"consult": Consult, "encounter": Encounter}
