"""Registering, listing, deactivating and re-activating the people who use the assistant.

Shared by ``assistant worker ...``, ``assistant workers import`` and the
console's people page. ``checked_person`` is the one check of what a person
may be (id, name, role, designation, phone, language), so each way in refuses
the same things in the same words. A deactivated worker keeps their records
(and their history stays reviewable); every channel refuses them within 30
seconds, the backend's token cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.core.phones import international
from assistant.core.rules import CONTROL_CHARACTERS, NAME_LIMIT, WORKER_ID
from assistant.core.vocabulary import LANGUAGES, PEOPLE_ROLES
from assistant.db.models import Facility, Worker


class InvalidPerson(ValueError):
    """What is wrong with a person's details, and which detail (``field``: id, name, role, ...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Person:
    """A person's details, checked (``checked_person``); the facility is checked against the database apart."""

    id: str
    name: str
    role: str
    facility_id: str
    designation: str | None = None
    phone: str | None = None
    language: str | None = None


def checked_person(
    worker_id: str,
    name: str,
    facility_id: str,
    role: str = "worker",
    designation: str | None = None,
    phone: str | None = None,
    language: str | None = None,
) -> Person:
    """The person as stored (spaces tidied, phone in international form); ``InvalidPerson`` says what is wrong."""
    name = " ".join(name.split())
    if not WORKER_ID.match(worker_id):
        raise InvalidPerson("id", "a worker id is 1-64 letters, digits, '-', '_' or '.'")
    if not name or len(name) > NAME_LIMIT or CONTROL_CHARACTERS.search(name):
        raise InvalidPerson("name", f"give a name of at most {NAME_LIMIT} characters")
    if designation is not None and (len(designation) > NAME_LIMIT or CONTROL_CHARACTERS.search(designation)):
        raise InvalidPerson("designation", f"give a designation of at most {NAME_LIMIT} characters")
    if role not in PEOPLE_ROLES:
        raise InvalidPerson("role", f"role must be one of: {', '.join(PEOPLE_ROLES)}")
    if language is not None and language not in LANGUAGES:
        raise InvalidPerson("language", f"language must be one of: {', '.join(LANGUAGES)}")
    try:
        phone = international(phone) if phone else None
    except ValueError as exc:
        raise InvalidPerson("phone", str(exc)) from None
    return Person(worker_id, name, role, facility_id, designation, phone, language)


def new_worker(person: Person) -> Worker:
    """The row of a new, active worker."""
    return Worker(
        id=person.id,
        name=person.name,
        facility_id=person.facility_id,
        role=person.role,
        designation=person.designation,
        phone=person.phone,
        language=person.language,
        active=True,
    )


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
    person = checked_person(worker_id, name, facility_id, role, designation)
    if await session.get(Facility, facility_id) is None:
        raise InvalidPerson("facility_id", f"no facility {facility_id!r}")
    if await session.get(Worker, worker_id) is not None:
        raise InvalidPerson("id", f"{worker_id} is already registered")
    worker = new_worker(person)
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
