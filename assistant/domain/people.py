"""Registering, listing, deactivating and re-activating the people who use the assistant.

Shared by ``assistant worker ...`` and the console's people page. A
deactivated worker keeps their records (and their history stays reviewable);
every channel refuses them within 30 seconds, the backend's token cache.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.core.rules import CONTROL_CHARACTERS, WORKER_ID
from assistant.core.vocabulary import PEOPLE_ROLES
from assistant.db.models import Facility, Worker

MAX_NAME = 200


def person_json(worker: Worker) -> dict[str, Any]:
    return {
        "id": worker.id,
        "name": worker.name,
        "role": worker.role,
        "facility_id": worker.facility_id,
        "designation": worker.designation,
        "active": bool(worker.active),
    }


async def add_worker(
    session: AsyncSession,
    worker_id: str,
    name: str,
    facility_id: str,
    role: str = "worker",
    designation: str | None = None,
) -> dict[str, Any]:
    """Register a person; ``ValueError`` says what is wrong (a taken id, an unknown facility, ...)."""
    name = " ".join(name.split())
    if not WORKER_ID.match(worker_id):
        raise ValueError("a worker id is 1-64 letters, digits, '-', '_' or '.'")
    if not name or len(name) > MAX_NAME or CONTROL_CHARACTERS.search(name):
        raise ValueError(f"give a name of at most {MAX_NAME} characters")
    if designation is not None and (len(designation) > MAX_NAME or CONTROL_CHARACTERS.search(designation)):
        raise ValueError(f"give a designation of at most {MAX_NAME} characters")
    if role not in PEOPLE_ROLES:
        raise ValueError(f"role must be one of: {', '.join(PEOPLE_ROLES)}")
    if await session.get(Facility, facility_id) is None:
        raise ValueError(f"no facility {facility_id!r}")
    if await session.get(Worker, worker_id) is not None:
        raise ValueError(f"{worker_id} is already registered")
    worker = Worker(id=worker_id, name=name, facility_id=facility_id, role=role, designation=designation, active=True)
    session.add(worker)
    await session.flush()
    return person_json(worker)


async def all_workers(session: AsyncSession, facilities: frozenset[str] | None = None) -> list[dict[str, Any]]:
    """Everyone (or everyone at ``facilities``), active or not, by id."""
    query = select(Worker).order_by(Worker.id)
    if facilities is not None:
        query = query.where(Worker.facility_id.in_(facilities))
    return [person_json(worker) for worker in (await session.execute(query)).scalars()]


async def set_active(session: AsyncSession, worker_id: str, active: bool) -> dict[str, Any]:
    worker = await session.get(Worker, worker_id)
    if worker is None:
        raise ValueError(f"no worker {worker_id!r}")
    worker.active = active
    return person_json(worker)
