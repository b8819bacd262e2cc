"""The offline outbox: writes the hub has not confirmed yet, kept until it has.

A consult request or an encounter that meets an unreachable (or not now
willing) backend is stored here with its idempotency key, durably, before the
worker is told it is queued. Delivery sends it with the same key, so the
backend creates it exactly once however many times delivery is attempted, by
whichever token (the backend scopes keys by worker, not by token).

Each row moves through these states (``status``), one atomic UPDATE per step,
so a crash at any point leaves it in a state delivery picks up again::

    pending ──claim──▶ sending ──▶ delivered
       ▲                  │ ├────▶ rejected     a 4xx no retry can fix: the worker is told
       └──── not now ─────┘ └────▶ cancelling ──▶ cancelled
    pending ──────────── cancel ─────────────────▶ cancelled

- ``sending`` is claimed before posting; one left by a process that died
  mid-post goes back to ``pending`` when the action server starts
  (re-posting is safe: the key makes it a replay).
- "Not now" (unreachable, 5xx, 401, 403 other than a worker refusal, 408,
  429: ``assistant.core.retry``) waits ``OUTBOX_BACKOFF`` before the next try.
- A cancel that meets a row being sent, or one that may already have reached
  the hub (an earlier attempt timed out after sending), is recorded
  (``cancel_requested``) and carried out at the hub once delivery returns:
  ``cancelling``, then ``cancelled``. Only a row that certainly never reached
  the hub is withdrawn here.
- A rejected row is announced to the worker at their next turn
  (``announced_at``; ``assistant.rasa_server.outbox_notices``) and listed for
  supervisors in the console.

Rows are never deleted: delivered, rejected and cancelled ones stay for review.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, insert, or_, select, update
from sqlalchemy.engine import Engine

from assistant.core import metrics
from assistant.core.retry import OUTBOX_BACKOFF, worth_retrying
from assistant.db.device import outbox_table as outbox
from assistant.http.backend_client import BackendClient, BackendRejected, BackendUnavailable

log = logging.getLogger(__name__)

KINDS = ("consult", "encounter")
_PATHS = {"consult": "/consults", "encounter": "/encounters"}
DUE_STATES = ("pending", "cancelling")


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
    cancel_requested: bool = False


@dataclass(frozen=True)
class Cancellation:
    """What a worker's cancel of a queued write came to.

    ``withdrawn``: it never reached the hub and never will; ``at_hub``: it
    reached the hub (``delivered_id``), cancel it there; ``after_delivery``:
    it is on its way or may be there, and will be cancelled at the hub as soon
    as delivery returns; ``nothing``: nothing of it stands (rejected, or
    cancelled already).
    """

    outcome: str
    delivered_id: int | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)  # the table's naive UTC


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
        bool(row.cancel_requested),
    )


def cancel_key(key: str) -> str:
    """The idempotency key of the hub-side cancel of a queued consult: stable across retries."""
    return f"{key}-cancel"


class Outbox:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # Each call is one short SQLite transaction, run off the event loop.

    async def enqueue(
        self, kind: str, key: str, worker_id: str, payload: Mapping[str, Any], *, maybe_sent: bool = False
    ) -> None:
        """Store a write; the same key twice keeps the first (a retried turn queues once).

        ``maybe_sent``: an attempt may have reached the hub (it timed out after
        sending), so a cancel must go through the hub.
        """
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
                maybe_sent=maybe_sent,
                created_at=now,
                updated_at=now,
            )
            .prefix_with("OR IGNORE")
        )
        if await asyncio.to_thread(self._execute, statement):
            metrics.OUTBOX_QUEUED.labels(kind).inc()  # once per record: a retried turn's copy is ignored

    async def pending(self, worker_id: str | None = None, kind: str | None = None) -> list[Queued]:
        """What waits for the hub and still stands (a worker's queued consults): pending or being sent."""
        query = (
            select(outbox)
            .where(outbox.c.status.in_(("pending", "sending")), outbox.c.cancel_requested.is_(False))
            .order_by(outbox.c.id)
        )
        if worker_id is not None:
            query = query.where(outbox.c.worker_id == worker_id)
        if kind is not None:
            query = query.where(outbox.c.kind == kind)
        return await asyncio.to_thread(self._fetch, query)

    async def due(self, *, waits_too: bool = False) -> list[Queued]:
        """What delivery should do now: pending rows and hub cancellations whose wait is over, oldest first.

        ``waits_too``: also those still waiting out their backoff (the hub is known to be back).
        """
        query = select(outbox).where(outbox.c.status.in_(DUE_STATES)).order_by(outbox.c.id)
        if not waits_too:
            query = query.where(or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= _now()))
        return await asyncio.to_thread(self._fetch, query)

    async def get(self, key: str) -> Queued | None:
        rows = await asyncio.to_thread(self._fetch, select(outbox).where(outbox.c.idempotency_key == key))
        return rows[0] if rows else None

    async def recover(self) -> int:
        """Rows left ``sending`` by a process that died mid-post go back to ``pending``; returns how many.

        The post may have reached the hub before the process died, so a cancel must now go through the hub.
        """
        statement = (
            update(outbox)
            .where(outbox.c.status == "sending")
            .values(status="pending", maybe_sent=True, updated_at=_now())
        )
        return await asyncio.to_thread(self._execute, statement)

    async def claim(self, key: str) -> bool:
        """``pending`` → ``sending``; False if someone else got there first (or it was cancelled)."""
        return await self._move(key, ("pending",), status="sending")

    async def retry_later(self, key: str, error: str, failed_attempts: int, *, maybe_sent: bool) -> None:
        """``sending`` → ``pending`` (a ``cancelling`` row stays so), to try again after the backoff.

        A row the worker cancelled while it was on its way, that certainly
        never reached the hub, is ``cancelled`` instead: nothing to undo there.
        """
        now = _now()
        sending = outbox.c.status == "sending"
        never_arrived = and_(sending, outbox.c.cancel_requested.is_(True), outbox.c.maybe_sent.is_(False))
        status = case((never_arrived, "cancelled"), (sending, "pending"), else_=outbox.c.status)
        if maybe_sent:
            status = case((sending, "pending"), else_=outbox.c.status)
        statement = (
            update(outbox)
            .where(outbox.c.idempotency_key == key, outbox.c.status.in_(("sending", "cancelling")))
            .values(
                status=status,
                attempts=outbox.c.attempts + 1,
                last_error=error[:200],
                maybe_sent=or_(outbox.c.maybe_sent, maybe_sent),
                next_attempt_at=OUTBOX_BACKOFF.next_attempt(failed_attempts, now),
                updated_at=now,
            )
        )
        await asyncio.to_thread(self._execute, statement)

    async def delivered(self, key: str, result: Mapping[str, Any]) -> str:
        """``sending`` → ``delivered``, or ``cancelling`` if the worker cancelled meanwhile; returns which."""
        now = _now()
        statement = (
            update(outbox)
            .where(outbox.c.idempotency_key == key, outbox.c.status == "sending")
            .values(
                status=case((outbox.c.cancel_requested.is_(True), "cancelling"), else_="delivered"),
                result=json.dumps({"id": result.get("id")}),
                attempts=outbox.c.attempts + 1,
                next_attempt_at=None,
                delivered_at=now,
                updated_at=now,
            )
        )
        await asyncio.to_thread(self._execute, statement)
        row = await self.get(key)
        return row.status if row else "gone"

    async def rejected(self, key: str, error: str) -> None:
        """``sending`` → ``rejected`` (or ``cancelled``, if the worker had cancelled it: nothing was made)."""
        await self._move(
            key,
            ("sending",),
            status=case((outbox.c.cancel_requested.is_(True), "cancelled"), else_="rejected"),
            last_error=error[:200],
            attempts=outbox.c.attempts + 1,
        )

    async def cancelled_at_hub(self, key: str, note: str | None = None) -> None:
        await self._move(key, ("cancelling",), status="cancelled", last_error=note)

    async def cancel(self, key: str) -> Cancellation:
        """The worker cancels a queued consult (see ``Cancellation``)."""
        withdrawn = update(outbox).where(
            outbox.c.idempotency_key == key,
            outbox.c.status == "pending",
            outbox.c.maybe_sent.is_(False),
        )
        if await asyncio.to_thread(self._execute, withdrawn.values(status="cancelled", updated_at=_now())):
            return Cancellation("withdrawn")
        later = update(outbox).where(outbox.c.idempotency_key == key, outbox.c.status.in_(("pending", "sending")))
        if await asyncio.to_thread(self._execute, later.values(cancel_requested=True, updated_at=_now())):
            return Cancellation("after_delivery")
        row = await self.get(key)
        if row is not None and row.status == "delivered" and row.delivered_id is not None:
            return Cancellation("at_hub", row.delivered_id)
        if row is not None and row.status == "cancelling":
            return Cancellation("after_delivery")
        return Cancellation("nothing")

    async def _move(self, key: str, from_states: tuple[str, ...], **values: Any) -> bool:
        statement = (
            update(outbox)
            .where(outbox.c.idempotency_key == key, outbox.c.status.in_(from_states))
            .values(**values, updated_at=_now())
        )
        return bool(await asyncio.to_thread(self._execute, statement))

    def _execute(self, statement: Any) -> int:
        with self._engine.begin() as connection:
            return int(connection.execute(statement).rowcount or 0)

    def _fetch(self, query: Any) -> list[Queued]:
        with self._engine.connect() as connection:
            return [_row(row) for row in connection.execute(query)]


@dataclass(frozen=True)
class Submitted:
    """What became of a write: ``sent`` (with the backend's answer), ``queued`` or ``rejected``."""

    outcome: str
    result: dict[str, Any] | None = None
    error: BackendRejected | None = None


async def submit(
    store: Outbox, client: BackendClient, kind: str, key: str, worker_id: str, payload: Mapping[str, Any]
) -> Submitted:
    """Send a write now; if the hub cannot take it now, keep it in the outbox to send later."""
    try:
        return Submitted("sent", await client.post(_PATHS[kind], worker_id, payload, key))
    except BackendUnavailable as exc:
        await store.enqueue(kind, key, worker_id, payload, maybe_sent=exc.maybe_applied)
        return Submitted("queued")
    except BackendRejected as exc:
        if worth_retrying(exc.status, exc.code):
            log.warning("the backend cannot take a %s now (%s %s): queued", kind, exc.status, exc.code)
            await store.enqueue(kind, key, worker_id, payload)
            return Submitted("queued")
        log.warning("the backend rejected a %s (%s %s)", kind, exc.status, exc.code)
        return Submitted("rejected", error=exc)


async def deliver_pending(
    store: Outbox, client: BackendClient, rng: random.Random | None = None, *, hub_is_back: bool = False
) -> int:
    """One round: send what is due, oldest first; stop at the first sign the hub cannot take more now.

    ``hub_is_back``: the hub has answered since it last failed, so rows still waiting out their
    backoff go now too. Returns how many writes reached the hub in this round.
    """
    delivered = 0
    for item in await store.due(waits_too=hub_is_back):
        if item.status == "cancelling":
            if not await _cancel_at_hub(store, client, item):
                break
            continue
        if not await store.claim(item.key):
            continue  # cancelled (or claimed) since the list was read
        try:
            result = await client.post(_PATHS[item.kind], item.worker_id, item.payload, item.key)
        except BackendUnavailable as exc:
            await store.retry_later(item.key, f"unavailable: {exc}", item.attempts + 1, maybe_sent=exc.maybe_applied)
            break
        except BackendRejected as exc:
            error = f"{exc.status} {exc.code} {exc.field or ''}".strip()
            if worth_retrying(exc.status, exc.code):
                # A token or rate problem is the hub's for every row: the rest wait too.
                await store.retry_later(item.key, error, item.attempts + 1, maybe_sent=False)
                break
            log.warning("outbox: the backend rejected queued %s %d (%s)", item.kind, item.id, exc.code)
            await store.rejected(item.key, error)
            continue
        delivered += 1
        log.info("outbox: delivered queued %s %d", item.kind, item.id)
        if await store.delivered(item.key, result) == "cancelling":
            await _cancel_at_hub(store, client, await store.get(item.key) or item)
    return delivered


async def _cancel_at_hub(store: Outbox, client: BackendClient, item: Queued) -> bool:
    """Carry out a worker's cancel of a consult that reached the hub; False if the hub cannot take it now."""
    if item.delivered_id is None:  # an encounter, or nothing made: nothing to cancel there
        await store.cancelled_at_hub(item.key)
        return True
    try:
        await client.cancel_consult(item.worker_id, item.delivered_id, cancel_key(item.key))
    except BackendUnavailable as exc:
        await store.retry_later(item.key, f"unavailable: {exc}", item.attempts + 1, maybe_sent=False)
        return False
    except BackendRejected as exc:
        if worth_retrying(exc.status, exc.code):
            await store.retry_later(item.key, f"{exc.status} {exc.code}", item.attempts + 1, maybe_sent=False)
            return False
        # Not cancellable any more (say, the hub completed it): nothing more to do, and it is on record.
        log.warning("outbox: the hub would not cancel consult %d (%s)", item.delivered_id, exc.code)
        await store.cancelled_at_hub(item.key, f"{exc.status} {exc.code}")
        return True
    log.info("outbox: cancelled consult %d at the hub, as the worker asked", item.delivered_id)
    await store.cancelled_at_hub(item.key)
    return True
