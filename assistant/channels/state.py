"""Channel state that must survive a restart of Rasa (and be shared by several Rasa servers).

- Inbound message claims: WhatsApp redelivers a webhook it thinks failed, and
  the web page resends a message whose answer was lost on a 2G link. A message
  id is claimed before the message reaches Rasa and marked done after, so a
  redelivery is never processed twice (and never books twice). A claim left
  by a crashed process expires after ``CLAIM_LEASE`` and may be taken over.
- Web sessions ended by logout (their token would otherwise stay valid).
- The numbered choices last shown on a text-only screen, per worker.
- Sender -> worker answers from the backend, so known workers keep working
  while the hub is unreachable.
- WhatsApp replies that could not be delivered yet, retried later.

SQLite under the data directory by default (``ASSISTANT_CHANNELS_DB_URL``
takes a PostgreSQL URL for scale-out). Sender identities are stored as keyed
hashes; a phone number is stored only inside an undelivered reply, until it is sent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy import JSON, Column, Integer, String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import declarative_base

from assistant.backend.database import Database
from assistant.backend.models import UTCDateTime, utcnow

Base = declarative_base()

CLAIM_LEASE = dt.timedelta(minutes=2)
# WhatsApp retries a failed webhook for up to 7 days; keep ids well past that.
KEEP_MESSAGE_IDS = dt.timedelta(days=30)
IDENTITY_CACHE_TTL = dt.timedelta(days=30)


class InboundMessage(Base):
    __tablename__ = "inbound_messages"
    channel = Column(String(32), primary_key=True)
    message_key = Column(String(256), primary_key=True)
    state = Column(String(16), nullable=False)  # processing | done
    claimed_at = Column(UTCDateTime, nullable=False, default=utcnow)
    response = Column(JSON, nullable=True)


class EndedSession(Base):
    __tablename__ = "ended_sessions"
    session_id = Column(String(64), primary_key=True)
    expires_at = Column(UTCDateTime, nullable=False, index=True)


class PendingChoices(Base):
    __tablename__ = "pending_choices"
    channel = Column(String(32), primary_key=True)
    worker_id = Column(String(64), primary_key=True)
    payloads = Column(JSON, nullable=False)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow)


class KnownSender(Base):
    __tablename__ = "known_senders"
    channel = Column(String(32), primary_key=True)
    identity_hash = Column(String(64), primary_key=True)
    worker = Column(JSON, nullable=False)
    checked_at = Column(UTCDateTime, nullable=False, default=utcnow)


class UndeliveredReply(Base):
    __tablename__ = "undelivered_replies"
    id = Column(Integer, primary_key=True)
    channel = Column(String(32), nullable=False)
    route = Column(JSON, nullable=False)  # where to send it (sender number id, recipient)
    payload = Column(JSON, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    attempts = Column(Integer, nullable=False, default=0)


@dataclass(frozen=True)
class Claim:
    outcome: str  # "new": process it; "done": seen, ``response`` holds the answer; "in_flight": being processed
    response: Any = None

    @property
    def is_new(self) -> bool:
        return self.outcome == "new"


class ChannelState:
    def __init__(self, url: str, identity_key: str) -> None:
        self.url = url
        self._identity_key = identity_key.encode()
        self._db: Optional[Database] = None
        self._ready = asyncio.Lock()

    async def _database(self) -> Database:
        # Engines are made on first use, inside the server's event loop.
        async with self._ready:
            if self._db is None:
                db = Database.connect(self.url)
                async with db.writer_engine.begin() as connection:
                    await connection.run_sync(Base.metadata.create_all)
                self._db = db
                await self.purge()
        return self._db

    async def close(self) -> None:
        if self._db is not None:
            await self._db.dispose()
            self._db = None

    async def purge(self, now: Optional[dt.datetime] = None) -> None:
        now = now or utcnow()
        assert self._db is not None
        async with self._db.write() as session:
            await session.execute(delete(InboundMessage).where(InboundMessage.claimed_at < now - KEEP_MESSAGE_IDS))
            await session.execute(delete(EndedSession).where(EndedSession.expires_at < now))
            await session.execute(delete(KnownSender).where(KnownSender.checked_at < now - IDENTITY_CACHE_TTL))

    # --- claims --------------------------------------------------------------

    async def claim(self, channel: str, message_key: str) -> Claim:
        db = await self._database()
        now = utcnow()
        try:
            async with db.write() as session:
                row = await session.get(InboundMessage, (channel, message_key))
                if row is None:
                    session.add(InboundMessage(channel=channel, message_key=message_key, state="processing", claimed_at=now))
                    return Claim("new")
                if row.state == "done":
                    return Claim("done", row.response)
                if row.claimed_at < now - CLAIM_LEASE:
                    row.claimed_at = now  # its process died mid-way: take it over
                    return Claim("new")
                return Claim("in_flight")
        except IntegrityError:
            return Claim("in_flight")  # a twin inserted it first (PostgreSQL)

    async def finish(self, channel: str, message_key: str, response: Any = None) -> None:
        db = await self._database()
        async with db.write() as session:
            row = await session.get(InboundMessage, (channel, message_key))
            if row is not None:
                row.state, row.response = "done", response

    async def release(self, channel: str, message_key: str) -> None:
        """Forget a claim whose processing failed, so a redelivery is processed."""
        db = await self._database()
        async with db.write() as session:
            await session.execute(
                delete(InboundMessage).where(
                    InboundMessage.channel == channel, InboundMessage.message_key == message_key,
                    InboundMessage.state == "processing",
                )
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

    # --- numbered choices --------------------------------------------------------

    async def remember_choices(self, channel: str, worker_id: str, payloads: list[str]) -> None:
        db = await self._database()
        async with db.write() as session:
            row = await session.get(PendingChoices, (channel, worker_id))
            if row is None:
                session.add(PendingChoices(channel=channel, worker_id=worker_id, payloads=payloads, updated_at=utcnow()))
            else:
                row.payloads, row.updated_at = payloads, utcnow()

    async def take_choices(self, channel: str, worker_id: str) -> list[str]:
        """The choices last shown to the worker; they hold for one answer only."""
        db = await self._database()
        async with db.write() as session:
            row = await session.get(PendingChoices, (channel, worker_id))
            if row is None:
                return []
            payloads = list(row.payloads)
            await session.delete(row)
            return payloads

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
                delete(KnownSender).where(KnownSender.channel == channel, KnownSender.identity_hash == self.identity_hash(identity))
            )

    async def known_sender(self, channel: str, identity: str) -> Optional[dict[str, Any]]:
        db = await self._database()
        async with db.read() as session:
            row = await session.get(KnownSender, (channel, self.identity_hash(identity)))
            return dict(row.worker) if row is not None else None

    # --- undelivered replies ---------------------------------------------------------

    async def keep_undelivered(self, channel: str, route: dict[str, Any], payload: dict[str, Any]) -> None:
        db = await self._database()
        async with db.write() as session:
            session.add(UndeliveredReply(channel=channel, route=route, payload=payload, created_at=utcnow()))

    async def undelivered(self, channel: str, limit: int = 50) -> list[UndeliveredReply]:
        db = await self._database()
        async with db.read() as session:
            query = select(UndeliveredReply).where(UndeliveredReply.channel == channel).order_by(UndeliveredReply.id).limit(limit)
            return list((await session.execute(query)).scalars())

    async def delivered(self, reply_id: int) -> None:
        db = await self._database()
        async with db.write() as session:
            await session.execute(delete(UndeliveredReply).where(UndeliveredReply.id == reply_id))

    async def delivery_failed(self, reply_id: int) -> None:
        db = await self._database()
        async with db.write() as session:
            row = await session.get(UndeliveredReply, reply_id)
            if row is not None:
                row.attempts += 1
