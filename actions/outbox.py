"""The offline outbox: writes the hub could not take yet, kept until delivered.

A consult request or an encounter that meets an unreachable backend is stored
here with its idempotency key, durably, before the worker is told it is saved.
``deliver_pending`` sends each one with the same key, so the backend creates
it exactly once however many times delivery is attempted (a crash between the
backend's answer and our bookkeeping just means one more idempotent replay).

Rows are never deleted: delivered and rejected ones stay for review.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from assistant.core.backend_client import BackendClient, BackendRejected, BackendUnavailable
from assistant.core.db.device import outbox_table as outbox

log = logging.getLogger(__name__)

KINDS = ("consult", "encounter")


@dataclass(frozen=True)
class Queued:
    id: int
    kind: str
    key: str
    worker_id: str
    payload: dict[str, Any]
    status: str
    attempts: int
    # The backend's record id once delivered.
    delivered_id: int | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _row(row: Any) -> Queued:
    delivered_id = json.loads(row.result).get("id") if row.result else None
    return Queued(
        row.id,
        row.kind,
        row.idempotency_key,
        row.worker_id,
        json.loads(row.payload),
        row.status,
        row.attempts,
        delivered_id,
    )


class Outbox:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # Each call is one short SQLite transaction, run off the event loop.

    async def enqueue(self, kind: str, key: str, worker_id: str, payload: Mapping[str, Any]) -> None:
        """Store a write; the same key twice keeps the first (a retried turn queues once)."""
        if kind not in KINDS:
            raise ValueError(f"unknown outbox kind {kind!r}")
        now = _now()
        statement = (
            insert(outbox)
            .values(
                kind=kind,
                idempotency_key=key,
                worker_id=worker_id,
                payload=json.dumps(dict(payload)),
                status="pending",
                attempts=0,
                created_at=now,
                updated_at=now,
            )
            .prefix_with("OR IGNORE")
        )
        await asyncio.to_thread(self._execute, statement)

    async def pending(self, worker_id: str | None = None, kind: str | None = None) -> list[Queued]:
        query = select(outbox).where(outbox.c.status == "pending").order_by(outbox.c.id)
        if worker_id is not None:
            query = query.where(outbox.c.worker_id == worker_id)
        if kind is not None:
            query = query.where(outbox.c.kind == kind)
        return await asyncio.to_thread(self._fetch, query)

    async def get(self, key: str) -> Queued | None:
        rows = await asyncio.to_thread(self._fetch, select(outbox).where(outbox.c.idempotency_key == key))
        return rows[0] if rows else None

    async def cancel(self, key: str) -> bool:
        """Withdraw a pending write (the worker cancelled a consult that was never sent)."""
        return await self._finish(key, "cancelled", None, None)

    async def mark_delivered(self, key: str, result: Mapping[str, Any]) -> bool:
        return await self._finish(key, "delivered", None, json.dumps({"id": result.get("id")}))

    async def mark_rejected(self, key: str, error: str) -> bool:
        return await self._finish(key, "rejected", error, None)

    async def note_attempt(self, key: str, error: str) -> None:
        statement = (
            update(outbox)
            .where(outbox.c.idempotency_key == key)
            .values(attempts=outbox.c.attempts + 1, last_error=error[:200], updated_at=_now())
        )
        await asyncio.to_thread(self._execute, statement)

    async def _finish(self, key: str, status: str, error: str | None, result: str | None) -> bool:
        values: dict[str, Any] = {"status": status, "updated_at": _now()}
        if error is not None:
            values["last_error"] = error[:200]
        if status == "delivered":
            values.update(result=result, delivered_at=_now(), attempts=outbox.c.attempts + 1)
        statement = update(outbox).where(outbox.c.idempotency_key == key, outbox.c.status == "pending").values(**values)
        return bool(await asyncio.to_thread(self._execute, statement))

    def _execute(self, statement: Any) -> int:
        with self._engine.begin() as connection:
            return connection.execute(statement).rowcount

    def _fetch(self, query: Any) -> list[Queued]:
        with self._engine.connect() as connection:
            return [_row(row) for row in connection.execute(query)]


_PATHS = {"consult": "/consults", "encounter": "/encounters"}


@dataclass(frozen=True)
class Submitted:
    """What became of a write: ``sent`` (with the backend's answer), ``queued`` or ``rejected``."""

    outcome: str
    result: dict[str, Any] | None = None
    error: BackendRejected | None = None


async def submit(
    store: Outbox, client: BackendClient, kind: str, key: str, worker_id: str, payload: Mapping[str, Any]
) -> Submitted:
    """Send a write now; if the hub is unreachable, keep it in the outbox to send later."""
    try:
        return Submitted("sent", await client.post(_PATHS[kind], worker_id, payload, key))
    except BackendUnavailable:
        await store.enqueue(kind, key, worker_id, payload)
        return Submitted("queued")
    except BackendRejected as exc:
        log.warning("the backend rejected a %s (%s %s)", kind, exc.status, exc.code)
        return Submitted("rejected", error=exc)


async def deliver_pending(store: Outbox, client: BackendClient) -> int:
    """Send every pending write, oldest first; stop at the first sign the hub is down.

    Returns how many were delivered in this round.
    """
    delivered = 0
    for item in await store.pending():
        try:
            result = await client.post(_PATHS[item.kind], item.worker_id, item.payload, item.key)
        except BackendUnavailable as exc:
            await store.note_attempt(item.key, f"unavailable: {exc}")
            break
        except BackendRejected as exc:
            # Retrying cannot fix a 4xx; keep the row for review, with the code only.
            log.warning("outbox: the backend rejected queued %s %d (%s)", item.kind, item.id, exc.code)
            await store.mark_rejected(item.key, f"{exc.status} {exc.code} {exc.field or ''}".strip())
            continue
        if await store.mark_delivered(item.key, result):
            delivered += 1
            log.info("outbox: delivered queued %s %d", item.kind, item.id)
    return delivered
