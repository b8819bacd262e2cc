"""Channel state that must survive a restart of Rasa (and be shared by several Rasa servers).

- Inbound message claims: WhatsApp and Twilio redeliver a webhook they think
  failed, and the web page and REST clients resend a message whose answer was
  lost on a 2G link. A message id is claimed before the message reaches Rasa
  and marked done after, with the turn's replies, so a redelivery is never
  processed twice (and never books twice): it gets the stored replies
  (``assistant.channels.once``), waiting for them (``settled``) while the
  first delivery's turn runs. The process running the turn renews its claim
  every ``CLAIM_RENEWAL`` (``holding``); a claim left by a process that died
  is not renewed, and is taken over once ``CLAIM_LEASE`` has passed, or at
  once when its process is provably gone (``assistant.core.liveness``).
- Web sessions ended by logout (their token would otherwise stay valid).
- What each worker's next message answers: the numbered choices last shown
  on a text-only screen, and whether a voice note is dictation.
- Sender -> worker answers from the backend, so known workers keep working
  while the hub is unreachable.
- WhatsApp replies that could not be delivered yet, waiting per recipient
  to be retried, and the dead letters of those that never were (kept
  ``DEAD_LETTER_RETENTION``, without number or text, for the console).
  A reply queued under a dedupe key (a hub notice, ``hub-notice:<id>``) is
  queued once however many servers try; its key outlives the sending by
  ``KEEP_SENT_KEYS``.
- Failed web-chat sign-ins per address (keyed hashes), for the per-address limit.

SQLite under the data directory by default (``ASSISTANT_CHANNELS_DB_URL``
takes a PostgreSQL URL for scale-out). Sender identities are stored as keyed
hashes; a phone number is stored only inside a waiting reply, until it is sent
(or given up). Expired rows are purged when the database is opened and then
hourly (``assistant.channels.runtime``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from assistant.core import liveness
from assistant.core.dialogue import Mode
from assistant.core.rules import (
    ADDRESS_FAILURE_FACTOR,
    CLAIM_LEASE,
    CLAIM_RENEWAL,
    DEAD_LETTER_RETENTION,
    LOCKOUT,
    MAX_FAILED_ATTEMPTS,
)
from assistant.db.channel_tables import (
    REPLY_DEAD,
    REPLY_SENT,
    REPLY_WAITING,
    EndedSession,
    ExpectedInput,
    FailedSignIn,
    InboundMessage,
    KnownSender,
    UndeliveredReply,
)
from assistant.db.engine import Database
from assistant.db.locks import serialise
from assistant.db.purge import delete_in_batches
from assistant.db.types import utcnow

log = logging.getLogger(__name__)

# How often a redelivery looks again at a claim whose turn is running elsewhere (``settled``).
SETTLE_POLL_SECONDS = 0.25
# WhatsApp retries a failed webhook for up to 7 days; keep ids well past that.
KEEP_MESSAGE_IDS = dt.timedelta(days=30)
IDENTITY_CACHE_TTL = dt.timedelta(days=30)
# A sent keyed reply's key stays taken this long; by then its notice is long marked delivered at the hub.
KEEP_SENT_KEYS = dt.timedelta(days=30)
ADDRESS_MAX_FAILURES = MAX_FAILED_ATTEMPTS * ADDRESS_FAILURE_FACTOR


@dataclass(frozen=True)
class Expected:
    """The numbered choices a bare number picks, and how a voice note is heard."""

    payloads: tuple[str, ...] = ()
    mode: Mode = "command"


@dataclass(frozen=True)
class OutgoingReply:
    """A reply to keep for later: from which route, what (with the number), for whom."""

    channel: str
    route: dict[str, Any]
    payload: dict[str, Any]
    recipient_hash: str  # ``ChannelState.identity_hash`` of the recipient: replies wait per recipient
    worker_id: str | None
    dedupe_key: str | None = None  # queued at most once under this key (``ChannelState.keep_once``)

    def row(self, now: dt.datetime) -> UndeliveredReply:
        return UndeliveredReply(
            channel=self.channel,
            route=self.route,
            payload=self.payload,
            recipient_hash=self.recipient_hash,
            worker_id=self.worker_id,
            created_at=now,
            dedupe_key=self.dedupe_key,
        )


@dataclass(frozen=True)
class Claim:
    # "new": process it; "retry": an earlier try was cut off, process it unless it ran (``channels.replay``);
    # "done": seen, ``response`` holds the answer; "in_flight": being processed
    outcome: str
    response: Any = None
    answered: bool = False  # "done": the first delivery's own exchange carried the answer back (``answered``)

    @property
    def is_new(self) -> bool:
        """Whether to process it (a retry too: it may not have run)."""
        return self.outcome in ("new", "retry")


class ChannelState:
    def __init__(self, url: str, identity_key: str) -> None:
        self.url = url
        self._identity_key = identity_key.encode()
        self._db: Database | None = None
        self._ready = asyncio.Lock()

    async def _database(self) -> Database:
        # Engines are made on first use, inside the server's event loop.
        async with self._ready:
            if self._db is None:
                db = Database.connect(self.url)
                try:
                    await db.migrate("channels")  # servers starting together: one migrates, the others wait
                    await self._hash_old_recipients(db)
                    await self._purge(db, utcnow())
                except BaseException:
                    await db.dispose()  # the next call opens it again, upgrade and purge included
                    raise
                self._db = db
        return self._db

    async def close(self) -> None:
        if self._db is not None:
            await self._db.dispose()
            self._db = None

    async def purge(self, now: dt.datetime | None = None) -> None:
        """Forget what has expired: old message ids, ended sessions, stale senders, old dead letters."""
        await self._purge(await self._database(), now or utcnow())

    @staticmethod
    async def _purge(db: Database, now: dt.datetime) -> None:
        async with db.write() as session:
            await session.execute(delete(InboundMessage).where(InboundMessage.claimed_at < now - KEEP_MESSAGE_IDS))
            await session.execute(delete(EndedSession).where(EndedSession.expires_at < now))
            await session.execute(delete(KnownSender).where(KnownSender.checked_at < now - IDENTITY_CACHE_TTL))
        await delete_in_batches(db, FailedSignIn, FailedSignIn.at < now - LOCKOUT)
        await delete_in_batches(
            db,
            UndeliveredReply,
            (UndeliveredReply.status == REPLY_DEAD) & (UndeliveredReply.dead_at < now - DEAD_LETTER_RETENTION),
        )
        await delete_in_batches(
            db,
            UndeliveredReply,
            (UndeliveredReply.status == REPLY_SENT) & (UndeliveredReply.created_at < now - KEEP_SENT_KEYS),
        )

    # --- claims --------------------------------------------------------------

    async def claim(self, channel: str, message_key: str) -> Claim:
        db = await self._database()
        now = utcnow()
        try:
            async with db.write() as session:
                row = await session.get(InboundMessage, (channel, message_key))
                if row is None:
                    session.add(
                        InboundMessage(
                            channel=channel,
                            message_key=message_key,
                            state="processing",
                            claimed_at=now,
                            holder=liveness.this_process(),
                        )
                    )
                    return Claim("new")
                if row.state == "done":
                    return Claim("done", row.response, row.answered_at is not None)
                if row.state == "released" or row.claimed_at < now - CLAIM_LEASE or liveness.gone(row.holder):
                    # Its try failed, or its process died mid-way: take it over.
                    row.state, row.claimed_at, row.holder = "processing", now, liveness.this_process()
                    return Claim("retry")
                return Claim("in_flight")
        except IntegrityError:
            return Claim("in_flight")  # a twin inserted it first (PostgreSQL)

    async def settled(self, channel: str, message_key: str, wait: dt.timedelta) -> Claim:
        """``claim``, waiting up to ``wait`` while another delivery's turn runs; still ``in_flight`` after that."""
        deadline = asyncio.get_running_loop().time() + wait.total_seconds()
        while True:
            claim = await self.claim(channel, message_key)
            if claim.outcome != "in_flight" or asyncio.get_running_loop().time() >= deadline:
                return claim
            await asyncio.sleep(SETTLE_POLL_SECONDS)

    async def answered(self, channel: str, message_key: str) -> None:
        """The request that ran the turn carried its answer back itself (Twilio's TwiML): a redelivery adds nothing."""
        db = await self._database()
        async with db.write() as session:
            await session.execute(
                update(InboundMessage)
                .where(InboundMessage.channel == channel, InboundMessage.message_key == message_key)
                .values(answered_at=utcnow())
            )

    async def finish(self, channel: str, message_key: str, response: Any = None) -> None:
        db = await self._database()
        async with db.write() as session:
            row = await session.get(InboundMessage, (channel, message_key))
            if row is not None:
                row.state, row.response = "done", response

    @contextlib.asynccontextmanager
    async def holding(self, channel: str, message_key: str) -> AsyncIterator[None]:
        """While inside, the claim on the message is renewed: nobody takes over a turn that is still running."""

        async def renew() -> None:
            while True:
                await asyncio.sleep(CLAIM_RENEWAL.total_seconds())
                try:
                    await self._renew(channel, message_key)
                except Exception:  # the next renewal tries again; the lease outlasts a few misses
                    log.warning("claim on a %s message not renewed", channel, exc_info=True)

        renewing = asyncio.create_task(renew())
        try:
            yield
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    async def _renew(self, channel: str, message_key: str) -> None:
        db = await self._database()
        async with db.write() as session:
            await session.execute(
                update(InboundMessage)
                .where(
                    InboundMessage.channel == channel,
                    InboundMessage.message_key == message_key,
                    InboundMessage.state == "processing",
                )
                .values(claimed_at=utcnow())
            )

    async def release(self, channel: str, message_key: str) -> None:
        """Give up a claim whose processing failed, so a redelivery is processed (as a ``retry``)."""
        db = await self._database()
        async with db.write() as session:
            await session.execute(
                update(InboundMessage)
                .where(
                    InboundMessage.channel == channel,
                    InboundMessage.message_key == message_key,
                    InboundMessage.state == "processing",
                )
                .values(state="released")
            )

    # --- web sessions ----------------------------------------------------------

    async def end_session(self, session_id: str, expires_at: dt.datetime) -> None:
        db = await self._database()
        async with db.write() as session:
            if await session.get(EndedSession, session_id) is None:
                session.add(EndedSession(session_id=session_id, expires_at=expires_at))

    async def session_ended(self, session_id: str) -> bool:
        db = await self._database()
        async with db.read() as session:
            return await session.get(EndedSession, session_id) is not None

    # --- sign-ins per address ------------------------------------------------------

    async def claim_sign_in(self, address: str) -> int | None:
        """Count a sign-in from ``address`` as failed until it succeeds; ``None`` when the address is over its limit.

        The count and the claim are one serialised write, so a burst of
        parallel guesses cannot all read "under the limit".
        """
        db = await self._database()
        address_hash = self.identity_hash("address:" + address)
        async with db.write() as session:
            await serialise(session, "web-sign-in")
            since = utcnow() - LOCKOUT
            failures = (
                await session.execute(
                    select(func.count()).where(FailedSignIn.address_hash == address_hash, FailedSignIn.at > since)
                )
            ).scalar_one()
            if failures >= ADDRESS_MAX_FAILURES:
                return None
            claim = FailedSignIn(address_hash=address_hash, at=utcnow())
            session.add(claim)
            await session.flush()
            return int(claim.id)

    async def sign_in_settled(self, claim: int) -> None:
        """The sign-in succeeded (or was never judged): it does not count against the address."""
        db = await self._database()
        async with db.write() as session:
            await session.execute(delete(FailedSignIn).where(FailedSignIn.id == claim))

    # --- what the next message answers ---------------------------------------------

    async def expect(self, channel: str, worker_id: str, expected: Expected) -> None:
        """Remember, until the worker's next message, the numbered choices shown and the input mode."""
        db = await self._database()
        async with db.write() as session:
            row = await session.get(ExpectedInput, (channel, worker_id))
            if row is None:
                session.add(
                    ExpectedInput(
                        channel=channel,
                        worker_id=worker_id,
                        payloads=list(expected.payloads),
                        mode=expected.mode,
                        updated_at=utcnow(),
                    )
                )
            else:
                row.payloads, row.mode, row.updated_at = list(expected.payloads), expected.mode, utcnow()

    async def take_expected(self, channel: str, worker_id: str) -> Expected:
        """What the worker's message answers; it holds for that one message only."""
        db = await self._database()
        async with db.write() as session:
            row = await session.get(ExpectedInput, (channel, worker_id))
            if row is None:
                return Expected()
            expected = Expected(tuple(row.payloads), "dictation" if row.mode == "dictation" else "command")
            await session.delete(row)
            return expected

    # --- sender -> worker cache ----------------------------------------------------

    def identity_hash(self, identity: str) -> str:
        return hmac.new(self._identity_key, identity.encode(), hashlib.sha256).hexdigest()

    async def remember_sender(self, channel: str, identity: str, worker: dict[str, Any]) -> None:
        db = await self._database()
        key = (channel, self.identity_hash(identity))
        async with db.write() as session:
            row = await session.get(KnownSender, key)
            if row is None:
                session.add(KnownSender(channel=channel, identity_hash=key[1], worker=worker, checked_at=utcnow()))
            else:
                row.worker, row.checked_at = worker, utcnow()

    async def forget_sender(self, channel: str, identity: str) -> None:
        db = await self._database()
        async with db.write() as session:
            await session.execute(
                delete(KnownSender).where(
                    KnownSender.channel == channel, KnownSender.identity_hash == self.identity_hash(identity)
                )
            )

    async def known_sender(self, channel: str, identity: str) -> dict[str, Any] | None:
        db = await self._database()
        async with db.read() as session:
            row = await session.get(KnownSender, (channel, self.identity_hash(identity)))
            return dict(row.worker) if row is not None else None

    # --- undelivered replies ---------------------------------------------------------

    async def _hash_old_recipients(self, db: Database) -> None:
        """Replies kept by a version that queued per channel get their recipient's hash, to wait per recipient."""
        async with db.write() as session:
            rows = (
                await session.execute(select(UndeliveredReply).where(UndeliveredReply.recipient_hash.is_(None)))
            ).scalars()
            for row in rows:
                address = row.payload.get("to") or row.payload.get("recipient") or ""
                row.recipient_hash = self.identity_hash(str(address))

    async def keep_undelivered(
        self,
        reply: OutgoingReply,
        *,
        now: dt.datetime,
        attempts: int = 0,
        next_attempt_at: dt.datetime | None = None,
        last_error: str | None = None,
    ) -> None:
        """Keep a reply to send later, after those already waiting for the same recipient."""
        db = await self._database()
        row = reply.row(now)
        row.status, row.attempts, row.next_attempt_at, row.last_error = (
            REPLY_WAITING,
            attempts,
            next_attempt_at,
            last_error,
        )
        row.last_attempt_at = now if attempts else None
        async with db.write() as session:
            session.add(row)

    async def keep_once(self, replies: list[OutgoingReply], *, now: dt.datetime) -> bool:
        """Queue keyed replies (in order, for the redelivery to send); ``False`` when their keys were queued before.

        All or none: one transaction, so a twin server that queued the same
        keys first makes this one add nothing (the keys are unique).
        """
        if not replies:
            return False
        db = await self._database()
        try:
            async with db.write() as session:
                for reply in replies:
                    assert reply.dedupe_key, "keep_once is for keyed replies"
                    row = reply.row(now)
                    row.status, row.attempts = REPLY_WAITING, 0
                    session.add(row)
        except IntegrityError:
            return False
        return True

    async def waiting_for(self, channel: str, recipient_hash: str) -> list[UndeliveredReply]:
        """The replies waiting for one recipient, in the order they must go out."""
        db = await self._database()
        async with db.read() as session:
            query = (
                select(UndeliveredReply)
                .where(
                    UndeliveredReply.channel == channel,
                    UndeliveredReply.status == REPLY_WAITING,
                    UndeliveredReply.recipient_hash == recipient_hash,
                )
                .order_by(UndeliveredReply.id)
            )
            return list((await session.execute(query)).scalars())

    async def due_recipients(self, channel: str, now: dt.datetime, limit: int = 100) -> list[str]:
        """Recipients whose oldest waiting reply may be tried now, longest waiting first."""
        db = await self._database()
        waiting = (UndeliveredReply.channel == channel) & (UndeliveredReply.status == REPLY_WAITING)
        heads = (
            select(func.min(UndeliveredReply.id).label("id"))
            .where(waiting)
            .group_by(UndeliveredReply.recipient_hash)
            .subquery()
        )
        query = (
            select(UndeliveredReply.recipient_hash)
            .join(heads, UndeliveredReply.id == heads.c.id)
            .where(or_(UndeliveredReply.next_attempt_at.is_(None), UndeliveredReply.next_attempt_at <= now))
            .order_by(UndeliveredReply.id)
            .limit(limit)
        )
        async with db.read() as session:
            return [str(found) for found in (await session.execute(query)).scalars()]

    async def claim_reply(self, reply_id: int, now: dt.datetime, lease: dt.timedelta) -> bool:
        """Take a due waiting reply for one attempt; ``False`` when it is not due or another server took it.

        The claim pushes its next attempt out by ``lease``, so a server that
        dies mid-send leaves it to be tried again, and no two servers send it at once.
        """
        db = await self._database()
        async with db.write() as session:
            claimed = await session.execute(
                update(UndeliveredReply)
                .where(
                    UndeliveredReply.id == reply_id,
                    UndeliveredReply.status == REPLY_WAITING,
                    or_(UndeliveredReply.next_attempt_at.is_(None), UndeliveredReply.next_attempt_at <= now),
                )
                .values(next_attempt_at=now + lease)
                .execution_options(synchronize_session=False)
            )
            return bool(claimed.rowcount)

    async def delivered(self, reply_id: int, now: dt.datetime | None = None) -> None:
        """The reply went out: forgotten, or for a keyed one emptied (no number, no text) so its key stays taken."""
        db = await self._database()
        async with db.write() as session:
            row = await session.get(UndeliveredReply, reply_id)
            if row is None:
                return
            if row.dedupe_key is None:
                await session.delete(row)
                return
            row.payload = _scrubbed(row.payload)
            row.status, row.next_attempt_at, row.last_attempt_at = REPLY_SENT, None, now or utcnow()

    async def retry_later(
        self, reply_id: int, *, attempts: int, next_attempt_at: dt.datetime, error: str, now: dt.datetime
    ) -> None:
        db = await self._database()
        async with db.write() as session:
            row = await session.get(UndeliveredReply, reply_id)
            if row is not None:
                row.attempts, row.next_attempt_at, row.last_error, row.last_attempt_at = (
                    attempts,
                    next_attempt_at,
                    error,
                    now,
                )

    async def give_up(self, reply_id: int, *, attempts: int, error: str, now: dt.datetime) -> None:
        """A waiting reply becomes a dead letter: it no longer holds up the replies after it."""
        db = await self._database()
        async with db.write() as session:
            row = await session.get(UndeliveredReply, reply_id)
            if row is not None:
                _make_dead(row, attempts=attempts, error=error, now=now)

    async def keep_dead_letter(self, reply: OutgoingReply, *, attempts: int, error: str, now: dt.datetime) -> None:
        """A reply refused for good on its first delivery: kept as a dead letter at once."""
        db = await self._database()
        row = reply.row(now)
        _make_dead(row, attempts=attempts, error=error, now=now)
        async with db.write() as session:
            session.add(row)


def _scrubbed(payload: Any) -> dict[str, Any]:
    # The number and the words go once a reply will not be sent again (the transcript keeps the words).
    return {"type": payload.get("type")} if isinstance(payload, dict) else {}


def _make_dead(row: UndeliveredReply, *, attempts: int, error: str, now: dt.datetime) -> None:
    row.payload = _scrubbed(row.payload)
    row.status, row.attempts, row.last_error = REPLY_DEAD, attempts, error
    row.last_attempt_at = row.dead_at = now
    row.next_attempt_at = None
