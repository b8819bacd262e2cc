"""``Idempotency-Key`` for POSTs: the same key and body replay the first result.

The key is claimed by inserting its record inside the same transaction that
does the work. A concurrent duplicate therefore either waits on the unique
index and then replays the committed result (PostgreSQL), or is serialised
behind the first writer (SQLite). A failed request stores nothing, so the
client may retry it with the same key.

Results are kept ``IDEMPOTENCY_WINDOW`` (30 days: an offline clinic's outbox
may send a record again days later) and then purged in the background
(``purge_expired``, run by the app at start and hourly).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.backend.app_state import DB
from assistant.backend.auth import principal
from assistant.backend.errors import conflict, invalid
from assistant.core.db.engine import Database
from assistant.core.db.models import IdempotencyRecord, utcnow
from assistant.core.db.purge import BATCH, delete_in_batches
from assistant.core.rules import IDEMPOTENCY_WINDOW

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200

Operation = Callable[[AsyncSession], Awaitable[tuple[int, dict[str, Any]]]]


def _request_hash(request: web.Request, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def _replay(record: IdempotencyRecord, request_hash: str) -> web.Response:
    if record.request_hash != request_hash:
        raise conflict(f"This {HEADER} was already used with a different request.")
    response = web.json_response(record.response, status=record.status_code)
    response.headers["Idempotent-Replayed"] = "true"
    return response


async def _find(session: AsyncSession, scope: str, key: str) -> IdempotencyRecord | None:
    query = select(IdempotencyRecord).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
    return (await session.execute(query)).scalar_one_or_none()


async def run_idempotent(request: web.Request, body: Any, operation: Operation) -> web.Response:
    db = request.app[DB]
    key = request.headers.get(HEADER, "").strip()
    if not key:
        async with db.write() as session:
            status, payload = await operation(session)
        return web.json_response(payload, status=status)
    if len(key) > MAX_KEY_LENGTH:
        raise invalid(HEADER, f"{HEADER} must be at most {MAX_KEY_LENGTH} characters.")

    scope = principal(request).idempotency_scope
    request_hash = _request_hash(request, body)
    try:
        async with db.write() as session:
            existing = await _find(session, scope, key)
            if existing is not None:
                return _replay(existing, request_hash)
            record = IdempotencyRecord(scope=scope, key=key, request_hash=request_hash)
            session.add(record)
            await session.flush()  # claims the key now; a concurrent twin blocks or fails here
            status, payload = await operation(session)
            record.status_code, record.response = status, payload
    except IntegrityError:
        # Another request with this key committed first: replay its result.
        async with db.read() as session:
            existing = await _find(session, scope, key)
        if existing is None:
            raise
        return _replay(existing, request_hash)
    return web.json_response(payload, status=status)


async def purge_expired(db: Database, now: dt.datetime | None = None, *, batch: int = BATCH) -> int:
    """Forget results older than the window, a batch at a time; returns how many went."""
    cutoff = (now or utcnow()) - IDEMPOTENCY_WINDOW
    purged = await delete_in_batches(db, IdempotencyRecord, IdempotencyRecord.created_at < cutoff, batch=batch)
    if purged:
        log.info("purged %d idempotency records older than %d days", purged, IDEMPOTENCY_WINDOW.days)
    return purged
