"""The audit trail: every view or export of patient data, and every sign-in.

Entries are written before the data is sent, so a failure to record an
access refuses the access. Targets name records by id ("conversation 12",
"encounter 7"), never by patient identifier.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select

from assistant.console.access import client_address
from assistant.console.app_state import DB
from assistant.db.console_tables import AuditEntry

USER_AGENT_LIMIT = 300


def entry(
    request: web.Request,
    action: str,
    target: str | None = None,
    *,
    actor: str | None = None,
    role: str | None = None,
) -> AuditEntry:
    """The audit row for ``action``, to add to the transaction that does it (so both are kept, or neither)."""
    who = request.get("viewer")
    return AuditEntry(
        actor=actor or (who.worker_id if who else None),
        role=role or (who.role if who else None),
        action=action,
        target=target,
        address=client_address(request),
        user_agent=request.headers.get("User-Agent", "")[:USER_AGENT_LIMIT],
    )


async def record(
    request: web.Request,
    action: str,
    target: str | None = None,
    *,
    actor: str | None = None,
    role: str | None = None,
) -> None:
    async with request.app[DB].write() as session:
        session.add(entry(request, action, target, actor=actor, role=role))


async def entries(
    request: web.Request, *, actor: str | None, action: str | None, limit: int, offset: int
) -> tuple[list[AuditEntry], int]:
    query = select(AuditEntry)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if action:
        query = query.where(AuditEntry.action == action)
    async with request.app[DB].read() as session:
        total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
        rows = (await session.execute(query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset))).scalars().all()
    return list(rows), total
