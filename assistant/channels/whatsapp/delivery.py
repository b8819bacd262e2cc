"""Getting replies to each worker through the Graph API, in order, none lost and none sent twice.

- A reply is first sent with the Graph client's quick retries
  (``graph.with_retries``). When Meta stays unreachable past them, it is kept
  in the channel state and waits; that recipient's later replies wait behind
  it, in order. Replies to everyone else go on: the wait is per recipient.
- A background task tries each waiting reply again, with ``OUTBOUND_BACKOFF``
  (or Meta's ``Retry-After`` when that is longer), ``MAX_OUTBOUND_ATTEMPTS``
  tries in all. Then it becomes a dead letter.
- A reply Meta refuses for good (say, the worker's 24-hour window has closed)
  becomes a dead letter at once: retrying could not help.
- A dead letter never holds back the replies after it. It keeps the worker
  id, the error code, the attempts and the times (the console shows them),
  but neither the number nor the text. Logs name the worker and the error code only.
- A message that several servers may decide to send (a hub notice, or the
  replies to one inbound message that Meta delivered twice) is queued under a
  key (``enqueue``): the first to queue it wins, and the queue sends it like
  any waiting reply.

The same machinery sends through Twilio's Messages API (``twilio_api``): the
transport and the channel state's namespace are the caller's.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from assistant.channels.state import ChannelState, OutgoingReply
from assistant.channels.whatsapp.graph import GraphError, RetryPolicy
from assistant.core.periodic import every
from assistant.core.retry import MAX_OUTBOUND_ATTEMPTS, OUTBOUND_BACKOFF, Backoff
from assistant.db.types import utcnow

log = logging.getLogger(__name__)

NAMESPACE = "whatsapp"
# A waiting reply is tried once per turn of the backoff: the schedule is the retry.
ONE_TRY = RetryPolicy(attempts=1)
# How long a server owns a waiting reply it is sending; past it, another may try (the first died).
CLAIM_LEASE = dt.timedelta(minutes=2)


class Transport(Protocol):
    """Sends one message body from one of our numbers (the Graph API, or Twilio); raises ``GraphError``."""

    async def send(
        self, business_number_id: str, payload: dict[str, Any], policy: RetryPolicy | None = None
    ) -> str: ...


def error_code(error: GraphError) -> str:
    """What a dead letter and the log say about a failure: the service's code, else the HTTP status."""
    if error.code is not None:
        return f"{error.service}_{error.code}"
    if error.status is not None:
        return f"http_{error.status}"
    return "unreachable"


def _address(body: dict[str, Any]) -> str:
    return str(body.get("to") or body.get("recipient") or "")


class _RecipientLocks:
    """One lock per recipient, so this server sends a recipient's replies one after another; dropped when free."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: Counter[str] = Counter()

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]


class Delivery:
    def __init__(
        self,
        graph: Transport,
        state: ChannelState,
        *,
        namespace: str = NAMESPACE,
        now: Callable[[], dt.datetime] = utcnow,
        backoff: Backoff = OUTBOUND_BACKOFF,
        max_attempts: int = MAX_OUTBOUND_ATTEMPTS,
        rng: random.Random | None = None,
    ) -> None:
        self.graph = graph
        self.state = state
        self.namespace = namespace
        self.now = now
        self.backoff = backoff
        self.max_attempts = max_attempts
        self._rng = rng
        self._locks = _RecipientLocks()

    async def send(
        self, business_number_id: str, worker_id: str | None, bodies: list[dict[str, Any]], key: str | None = None
    ) -> None:
        """Send a turn's replies in order; once one waits, the rest of this recipient's wait behind it.

        With ``key`` they are queued once under it (``enqueue``) and sent right away: sending the same
        turn's replies again, from any server, sends nothing.
        """
        if key is not None:
            if bodies and await self.enqueue(business_number_id, worker_id, bodies, key):
                recipient = self.state.identity_hash(_address(bodies[0]))
                async with self._locks.hold(recipient):
                    await self._flush_recipient(recipient, fresh=None)
            return
        for body in bodies:
            reply = self._reply(business_number_id, worker_id, body)
            async with self._locks.hold(reply.recipient_hash):
                await self._flush_recipient(reply.recipient_hash)
                if await self.state.waiting_for(self.namespace, reply.recipient_hash):
                    await self.state.keep_undelivered(reply, now=self.now())
                else:
                    await self._first_try(reply)

    async def enqueue(
        self, business_number_id: str, worker_id: str | None, bodies: list[dict[str, Any]], key: str
    ) -> bool:
        """Queue ``bodies`` once under ``key``, behind what already waits for the recipient; ``False`` if queued before.

        Nothing is sent here (the caller may hold the worker's conversation
        lock): ``flush`` sends it, right after or on the redelivery's next round.
        """
        replies = [
            self._reply(business_number_id, worker_id, body, key if not index else f"{key}/{index}")
            for index, body in enumerate(bodies)
        ]
        return await self.state.keep_once(replies, now=self.now())

    def _reply(
        self, business_number_id: str, worker_id: str | None, body: dict[str, Any], key: str | None = None
    ) -> OutgoingReply:
        route = {"business_number_id": business_number_id}
        return OutgoingReply(self.namespace, route, body, self.state.identity_hash(_address(body)), worker_id, key)

    async def _first_try(self, reply: OutgoingReply) -> None:
        try:
            await self.graph.send(reply.route["business_number_id"], reply.payload)
            return
        except GraphError as error:
            now, code = self.now(), error_code(error)
            if not error.retryable or self.max_attempts <= 1:
                log.error("WhatsApp reply to worker %s refused (%s): kept as a dead letter", reply.worker_id, code)
                await self.state.keep_dead_letter(reply, attempts=1, error=code, now=now)
                return
            log.warning("WhatsApp reply to worker %s kept for later delivery (%s)", reply.worker_id, code)
            next_attempt = self._next_attempt(1, error, now)
            await self.state.keep_undelivered(reply, now=now, attempts=1, next_attempt_at=next_attempt, last_error=code)

    def _next_attempt(self, failed_attempts: int, error: GraphError, now: dt.datetime) -> dt.datetime:
        scheduled = self.backoff.next_attempt(failed_attempts, now, self._rng)
        if error.retry_after is not None:
            return max(scheduled, now + dt.timedelta(seconds=error.retry_after))
        return scheduled

    async def flush(self) -> int:
        """Try every recipient whose oldest waiting reply is due. Returns the number of replies sent."""
        sent = 0
        for recipient in await self.state.due_recipients(self.namespace, self.now()):
            async with self._locks.hold(recipient):
                sent += await self._flush_recipient(recipient)
        if sent:
            log.info("delivered %d waiting WhatsApp replies", sent)
        return sent

    async def _flush_recipient(self, recipient: str, fresh: RetryPolicy | None = ONE_TRY) -> int:
        """Send what waits for one recipient, oldest first; stop at the first that must wait longer.

        ``fresh``: how a reply never tried yet is tried (``None``: with the transport's quick retries,
        as a turn's reply is on its first try); one tried before gets one try per turn of the backoff.
        """
        sent = 0
        for reply in await self.state.waiting_for(self.namespace, recipient):
            if not await self.state.claim_reply(reply.id, self.now(), CLAIM_LEASE):
                break  # not due yet, or another server is sending it: the rest wait behind it
            try:
                policy = fresh if not reply.attempts else ONE_TRY
                await self.graph.send(reply.route["business_number_id"], reply.payload, policy)
            except GraphError as error:
                now, code, attempts = self.now(), error_code(error), reply.attempts + 1
                if error.retryable and attempts < self.max_attempts:
                    next_attempt = self._next_attempt(attempts, error, now)
                    await self.state.retry_later(
                        reply.id, attempts=attempts, next_attempt_at=next_attempt, error=code, now=now
                    )
                    break
                log.error(
                    "waiting WhatsApp reply to worker %s given up after %d attempts (%s): kept as a dead letter",
                    reply.worker_id,
                    attempts,
                    code,
                )
                await self.state.give_up(reply.id, attempts=attempts, error=code, now=now)
                continue
            await self.state.delivered(reply.id, self.now())
            sent += 1
        return sent

    async def keep_flushing(self, interval_seconds: float) -> None:
        await every(
            interval_seconds,
            self.flush,
            f"redelivery of waiting {self.namespace} replies",
            first_delay=interval_seconds,
        )
