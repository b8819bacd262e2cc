"""The console's own tables, kept in the backend database next to workers and records.

They have a metadata of their own, migrated with the backend's in the backend
database's one line of revisions (``assistant.db.migrations``).
Worker ids are plain strings rather than foreign keys because ``workers``
belongs to the backend's metadata. Conversations are referred to by the id
of the ``session_started`` event that opens them in Rasa's tracker store.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeMeta, registry

from assistant.db.naming import named_metadata
from assistant.db.types import UTCDateTime, utcnow

_tables = registry(metadata=named_metadata())


class ConsoleBase(metaclass=DeclarativeMeta):
    """The declarative base of this database's tables (SQLAlchemy 1.4's explicit form, which type checkers read)."""

    __abstract__ = True
    registry = _tables
    metadata = _tables.metadata
    __init__ = _tables.constructor


FLAG_REASONS: dict[str, str] = {
    "wrong_intent": "Wrong intent",
    "wrong_entity": "Wrong entity",
    "unsafe_reply": "Unsafe reply",
    "other": "Other",
}


class ConsolePassword(ConsoleBase):
    __tablename__ = "console_passwords"
    worker_id = Column(String(64), primary_key=True)
    password_hash = Column(String(200), nullable=False)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow)


class ConsoleSession(ConsoleBase):
    """A sign-in. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "console_sessions"
    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    worker_id = Column(String(64), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = Column(UTCDateTime, nullable=False)


class LoginAttempt(ConsoleBase):
    """Recent sign-in attempts, for the rate limit (shared by every console process)."""

    __tablename__ = "console_login_attempts"
    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    address = Column(String(64), nullable=False)
    username = Column(String(64), nullable=False)
    success = Column(Integer, nullable=False, default=0)


Index("ix_console_login_attempts_address_at", LoginAttempt.address, LoginAttempt.at)
Index("ix_console_login_attempts_username_at", LoginAttempt.username, LoginAttempt.at)


class Flag(ConsoleBase):
    """A reviewer's mark on one user turn, with the example to train on."""

    __tablename__ = "console_flags"
    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, nullable=False, index=True)
    sender_id = Column(String(255), nullable=False)
    event_id = Column(Integer, nullable=False, index=True)  # the user event flagged
    reason = Column(String(32), nullable=False)
    comment = Column(Text, nullable=True)
    # Rasa NLU example markup ("[heart doctor](specialty) chahiye") and the
    # intent it should have had: what the NLU export writes.
    example = Column(Text, nullable=True)
    expected_intent = Column(String(100), nullable=True)
    flagged_by = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)


class Review(ConsoleBase):
    __tablename__ = "console_reviews"
    conversation_id = Column(Integer, primary_key=True)
    sender_id = Column(String(255), nullable=False)
    reviewed_by = Column(String(64), nullable=False)
    reviewed_at = Column(UTCDateTime, nullable=False, default=utcnow)


class AuditEntry(ConsoleBase):
    """Who looked at or exported what, when, and from where. Never purged."""

    __tablename__ = "console_audit"
    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    actor = Column(String(64), nullable=True)  # worker id; None for a failed anonymous sign-in
    role = Column(String(16), nullable=True)
    action = Column(String(48), nullable=False)
    target = Column(String(200), nullable=True)  # "conversation 123", "encounter 7"; never patient ids
    address = Column(String(64), nullable=True)
    user_agent = Column(String(300), nullable=True)
