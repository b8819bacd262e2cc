"""The chat channels' own database (``channels.db``, or ``ASSISTANT_CHANNELS_DB_URL``).

What must survive a restart of Rasa and be shared by several Rasa servers:
inbound message claims, ended web sessions, the input each worker's next message answers,
remembered senders, replies not yet delivered and the dead letters of those
that never were, and the keys of messages that must go out once at most
(``assistant.channels.state``).
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, text
from sqlalchemy.orm import DeclarativeMeta, registry

from assistant.db.naming import named_metadata
from assistant.db.types import UTCDateTime, utcnow

_tables = registry(metadata=named_metadata())


class Base(metaclass=DeclarativeMeta):
    """The declarative base of this database's tables (SQLAlchemy 1.4's explicit form, which type checkers read)."""

    __abstract__ = True
    registry = _tables
    metadata = _tables.metadata
    __init__ = _tables.constructor


class InboundMessage(Base):
    __tablename__ = "inbound_messages"
    channel = Column(String(32), primary_key=True)
    message_key = Column(String(256), primary_key=True)
    state = Column(String(16), nullable=False)  # processing | done | released (its try failed)
    claimed_at = Column(UTCDateTime, nullable=False, default=utcnow)
    response = Column(JSON, nullable=True)
    # Added by the channels' revision 0002 (assistant/db/migrations/channels/).
    holder = Column(String(160), nullable=True)  # the process running its turn (``assistant.core.liveness``)
    answered_at = Column(UTCDateTime, nullable=True)  # when the answer went back in the request's own exchange


class EndedSession(Base):
    __tablename__ = "ended_sessions"
    session_id = Column(String(64), primary_key=True)
    expires_at = Column(UTCDateTime, nullable=False, index=True)


class ExpectedInput(Base):
    """What the worker's next message answers: the numbered choices last shown, and the input mode."""

    __tablename__ = "expected_inputs"
    channel = Column(String(32), primary_key=True)
    worker_id = Column(String(64), primary_key=True)
    payloads = Column(JSON, nullable=False)  # the numbered choices' payloads, in order
    mode = Column(String(16), nullable=False, default="command")  # command | dictation (a voice note)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow)


class KnownSender(Base):
    __tablename__ = "known_senders"
    channel = Column(String(32), primary_key=True)
    identity_hash = Column(String(64), primary_key=True)
    worker = Column(JSON, nullable=False)
    checked_at = Column(UTCDateTime, nullable=False, default=utcnow)


class FailedSignIn(Base):
    """A web-chat sign-in from an address, counted before the PIN is checked; removed if it succeeds."""

    __tablename__ = "failed_sign_ins"
    id = Column(Integer, primary_key=True)
    address_hash = Column(String(64), nullable=False, index=True)
    at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)


# What became of a reply kept in ``undelivered_replies``: waiting to go, never to go (a dead
# letter), or gone (only a keyed reply is kept once sent, without number or text: its key stays taken).
REPLY_WAITING, REPLY_DEAD, REPLY_SENT = "waiting", "dead", "sent"


class UndeliveredReply(Base):
    """A reply the messaging app has not taken yet (``waiting``), or never will (``dead``, a dead letter).

    Waiting replies go out in order per recipient; a dead letter keeps who it
    was for (worker id), the last error code, the attempts and the times, but
    neither the number nor the text. A reply with a ``dedupe_key`` (a hub
    notice pushed by any of several servers: ``hub-notice:<id>``) is queued at
    most once: the key is unique, and the row stays, emptied, once it is sent.
    """

    __tablename__ = "undelivered_replies"
    id = Column(Integer, primary_key=True)
    channel = Column(String(32), nullable=False)
    route = Column(JSON, nullable=False)  # where to send it from (the business number id)
    payload = Column(JSON, nullable=False)  # the message body, recipient's number included, until sent or dead
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    attempts = Column(Integer, nullable=False, default=0)
    # Columns added since the first version: nullable or with a server default (``schema``).
    recipient_hash = Column(String(64), nullable=True)  # keyed hash of the recipient: replies wait per recipient
    worker_id = Column(String(64), nullable=True)  # None for a stranger's refusal
    status = Column(String(16), nullable=False, server_default=text("'waiting'"))  # waiting | dead | sent
    next_attempt_at = Column(UTCDateTime, nullable=True)  # None: now
    last_attempt_at = Column(UTCDateTime, nullable=True)
    last_error = Column(String(64), nullable=True)  # an error code, never the message
    dead_at = Column(UTCDateTime, nullable=True)
    dedupe_key = Column(String(128), nullable=True)  # unique when set (the index below); None for a turn's reply


Index(
    "ix_undelivered_replies_waiting",
    UndeliveredReply.channel,
    UndeliveredReply.status,
    UndeliveredReply.recipient_hash,
    UndeliveredReply.id,
)
# Unique only where set: NULLs never collide, on SQLite and on PostgreSQL.
Index("ux_undelivered_replies_dedupe_key", UndeliveredReply.dedupe_key, unique=True)
