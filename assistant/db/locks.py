"""One writer at a time for a named piece of work, across every process on the database.

A limiter that counts attempts must read the count and add to it as one
step, or parallel requests all read the same count and all get through. On
SQLite, write transactions already run one at a time (``BEGIN IMMEDIATE``,
``assistant.db.engine``). On PostgreSQL, ``serialise`` takes a
transaction-scoped advisory lock named after the work, released at commit.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (PostgreSQL advisory locks take a bigint)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


async def serialise(session: AsyncSession, name: str) -> None:
    """Inside a write transaction: wait until no other transaction holds ``name``, then hold it."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(name)})
