"""Who may see which facility's records: the one rule the backend and the console apply.

An admin sees everything; a supervisor sees their own facility and every
facility under it (a district supervisor the district, a block supervisor
the block); a coordinator sees every facility their hub serves
(``assistant.domain.facilities``); a worker sees their own facility. A
specialist sees no facility: only the patients of the consults assigned to
them (``assistant.domain.hub_operations``, ``assistant.backend.encounters``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.db.models import Facility, Worker


async def facility_subtree(session: AsyncSession, root: str) -> frozenset[str]:
    """``root`` and every facility under it."""
    rows = (await session.execute(select(Facility.id, Facility.parent_id))).all()
    children: dict[str, list[str]] = {}
    for facility_id, parent_id in rows:
        if parent_id:
            children.setdefault(parent_id, []).append(facility_id)
    seen, stack = set(), [root]
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(children.get(current, []))
    return frozenset(seen)


async def served_facilities(session: AsyncSession, hub: str | None) -> frozenset[str]:
    """The hub itself and every facility it serves (none for no hub)."""
    if hub is None:
        return frozenset()
    return frozenset((await session.execute(select(Facility.id).where(Facility.served_by == hub))).scalars())


def hub_of_worker(worker: Worker) -> str | None:
    """The hub serving the worker's facility: where their consults go, or the desk a coordinator works."""
    return worker.facility.served_by if worker.facility is not None else None


async def visible_facilities(session: AsyncSession, worker: Worker) -> frozenset[str] | None:
    """The facilities whose records ``worker`` may see; ``None`` means all of them."""
    if worker.role == "admin":
        return None
    if worker.role == "supervisor":
        return await facility_subtree(session, worker.facility_id)
    if worker.role == "coordinator":
        return await served_facilities(session, hub_of_worker(worker))
    if worker.role == "specialist":
        return frozenset()
    return frozenset({worker.facility_id})
