"""Who may see which facility's records: the one rule the backend and the console apply.

An admin sees everything; a supervisor sees their own facility and every
facility under it (a district supervisor the district, a block supervisor
the block); a coordinator sees the hub and every facility the hub serves
(those whose ``hub_id`` is the coordinator's facility, and everything under
them); a worker and a specialist see their own facility (a specialist's
consults are found by assignment, not facility: ``assistant.domain.hub_operations``).
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


async def served_facilities(session: AsyncSession, hub: str) -> frozenset[str]:
    """The hub itself and every facility it serves, with the facilities under those."""
    served = frozenset({hub})
    for facility_id in (await session.execute(select(Facility.id).where(Facility.hub_id == hub))).scalars():
        served |= await facility_subtree(session, facility_id)
    return served


async def visible_facilities(session: AsyncSession, worker: Worker) -> frozenset[str] | None:
    """The facilities whose records ``worker`` may see; ``None`` means all of them."""
    if worker.role == "admin":
        return None
    if worker.role == "supervisor":
        return await facility_subtree(session, worker.facility_id)
    if worker.role == "coordinator":
        return await served_facilities(session, worker.facility_id)
    return frozenset({worker.facility_id})
