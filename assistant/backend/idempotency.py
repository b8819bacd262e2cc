"""``Idempotency-Key`` for POSTs: the same key and body replay the first result.

A key already used replays before any work. Otherwise the work runs and the
key's record, with the result, is inserted last in the same transaction
(one INSERT: the result is known by then). A concurrent duplicate is
serialised behind the first writer (SQLite), or runs too and then waits on
the unique index at that INSERT (PostgreSQL); when the first commits, the
duplicate's transaction fails and rolls back, whatever it did, and it
replays the committed result. (It may fail earlier, say with a 409 because
the first already cancelled the consult; any failure while the key's record
exists replays it.) A failed request stores nothing, so the client may
retry it with the same key.

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
from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.engine import Row
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.backend.app_state import DB
from assistant.backend.auth import principal
from assistant.backend.errors import conflict
from assistant.backend.fields import Parameter, Text
from assistant.core.rules import IDEMPOTENCY_WINDOW
from assistant.db.engine import Database
from assistant.db.models import IdempotencyRecord, utcnow
from assistant.db.purge import BATCH, delete_in_batches

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
IDEMPOTENCY_KEY = Parameter(
    "header",
    Text(
        HEADER,
        limit=MAX_KEY_LENGTH,
        description="Same key and body replay the first result; a different body gives 409.",
    ),
)

Operation = Callable[[AsyncSession], Awaitable[tuple[int, dict[str, Any]]]]
Committed = Callable[[int, dict[str, Any]], None]


def _request_hash(request: web.Request, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def _replay(record: Row, request_hash: str) -> web.Response:
    if record.request_hash != request_hash:
        raise conflict(f"This {HEADER} was already used with a different request.")
    response = web.json_response(record.response, status=record.status_code)
    response.headers["Idempotent-Replayed"] = "true"
    return response


# Core statements on the table, built once, values as parameters: composing a statement per
# request costs more than running it.
_records: Table = IdempotencyRecord.__table__
_FIND = select(_records.c.request_hash, _records.c.status_code, _records.c.response).where(
    _records.c.scope == bindparam("scope"), _records.c.key == bindparam("key")
)
_INSERT = insert(_records)


async def _find(session: AsyncSession, scope: str, key: str) -> Row | None:
    """The key's stored result (``request_hash``, ``status_code``, ``response``), if it was used."""
    return (await session.execute(_FIND, {"scope": scope, "key": key})).one_or_none()


async def run_idempotent(
    request: web.Request, body: Any, operation: Operation, committed: Committed | None = None
) -> web.Response:
    """Run ``operation`` once per idempotency key; a repeat gets the first answer.

    ``committed`` hears of the answer once its transaction committed (never of a
    replay): where the figures that count records move.
    """
    db = request.app[DB]
    key = IDEMPOTENCY_KEY.read(request)
    if key is None:
        async with db.write() as session:
            status, payload = await operation(session)
        return _answer(status, payload, committed)

    scope = principal(request).idempotency_scope
    request_hash = _request_hash(request, body)
    try:
        async with db.write() as session:
            existing = await _find(session, scope, key)
            if existing is None:
                status, payload = await operation(session)
                record = {"scope": scope, "key": key, "request_hash": request_hash, "created_at": utcnow()}
                # A concurrent twin waits on the unique index here, then fails.
                await session.execute(_INSERT, {**record, "status_code": status, "response": payload})
    except Exception:
        # Another request with this key committed first (a twin): replay its result. A failure
        # of our own, with no record to replay, is the answer.
        existing = await _committed(db, scope, key)
        if existing is None:
            raise
    if existing is not None:
        return _replay(existing, request_hash)
    return _answer(status, payload, committed)


def _answer(status: int, payload: dict[str, Any], committed: Committed | None) -> web.Response:
    if committed is not None:
        committed(status, payload)
    return web.json_response(payload, status=status)


async def _committed(db: Database, scope: str, key: str) -> Row | None:
    """The key's committed record, if the database can say (when it cannot, the caller's own error stands)."""
    try:
        async with db.read() as session:
            return await _find(session, scope, key)
    except SQLAlchemyError:
        return None


async def purge_expired(db: Database, now: dt.datetime | None = None, *, batch: int = BATCH) -> int:
    """Forget results older than the window, a batch at a time; returns how many went."""
    cutoff = (now or utcnow()) - IDEMPOTENCY_WINDOW
    purged = await delete_in_batches(db, IdempotencyRecord, IdempotencyRecord.created_at < cutoff, batch=batch)
    if purged:
        log.info("purged %d idempotency records older than %d days", purged, IDEMPOTENCY_WINDOW.days)
    return purged
