"""Console sign-ins past their expiry or their 12-hour age limit are deleted by the hourly purge."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select

from assistant.console.access import MAX_SESSION_AGE, purge_sessions
from assistant.db.console_tables import ConsoleSession
from assistant.db.engine import Database

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
MINUTE = dt.timedelta(minutes=1)


async def test_expired_and_too_old_sessions_go_and_live_ones_stay(tmp_path: Path) -> None:
    db = Database.connect(f"sqlite:///{tmp_path / 'backend.db'}")
    try:
        await db.migrate()
        sessions = {
            "expired": (NOW - 2 * MINUTE - MAX_SESSION_AGE / 2, NOW - MINUTE),
            "too-old": (NOW - MAX_SESSION_AGE - MINUTE, NOW + 10 * MINUTE),  # kept busy, but past the age limit
            "live": (NOW - MAX_SESSION_AGE / 2, NOW + 10 * MINUTE),
            "new": (NOW - MINUTE, NOW + 29 * MINUTE),
        }
        async with db.write() as session:
            for name, (created, expires) in sessions.items():
                session.add(
                    ConsoleSession(
                        token_hash=name, worker_id="S001", csrf_token=name, created_at=created, expires_at=expires
                    )
                )
        assert await purge_sessions(db, NOW) == 2
        async with db.read() as session:
            kept = set((await session.execute(select(ConsoleSession.token_hash))).scalars())
        assert kept == {"live", "new"}
    finally:
        await db.dispose()
