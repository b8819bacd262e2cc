"""Idempotency records are kept for IDEMPOTENCY_WINDOW, then purged: at start-up and hourly, in batches."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text

from assistant.backend.idempotency import purge_expired
from assistant.core.rules import IDEMPOTENCY_WINDOW
from assistant.db.engine import Database
from assistant.db.models import IdempotencyRecord
from tests.support.backend import start_backend
from tests.support.processes import assistant_cli

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
HOUR = dt.timedelta(hours=1)


def _record(key: str, created_at: dt.datetime) -> dict[str, object]:
    return {"scope": "worker:W001", "key": key, "request_hash": "0" * 64, "status_code": 201, "created_at": created_at}


async def test_records_older_than_the_window_go_and_newer_ones_stay(tmp_path: Path) -> None:
    db = Database.connect(f"sqlite:///{tmp_path / 'backend.db'}")
    try:
        await db.migrate()
        ages = {"a-year": dt.timedelta(days=365), "just-past": IDEMPOTENCY_WINDOW + HOUR}
        ages |= {f"old-{n}": IDEMPOTENCY_WINDOW + n * HOUR for n in range(2, 7)}
        ages |= {"just-inside": IDEMPOTENCY_WINDOW - HOUR, "today": HOUR}
        async with db.write() as session:
            for key, age in ages.items():
                session.add(IdempotencyRecord(**_record(key, NOW - age)))
        # Batches of two: the purge goes on until no old record is left.
        assert await purge_expired(db, NOW, batch=2) == 7
        async with db.read() as session:
            kept = set((await session.execute(select(IdempotencyRecord.key))).scalars())
        assert kept == {"just-inside", "today"}
        assert await purge_expired(db, NOW, batch=2) == 0
    finally:
        await db.dispose()


def test_the_running_backend_purges_expired_records_when_it_starts(tmp_path: Path, artifacts_dir: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'backend.db'}"
    assistant_cli("seed", "--db", db_url)
    engine = create_engine(db_url, future=True)
    now = dt.datetime.now(dt.timezone.utc)
    with engine.begin() as connection:
        connection.execute(
            insert(IdempotencyRecord.__table__).values(**_record("expired", now - 2 * IDEMPOTENCY_WINDOW))
        )
        connection.execute(insert(IdempotencyRecord.__table__).values(**_record("recent", now - HOUR)))

    def keys() -> set[str]:
        with engine.connect() as connection:
            return set(connection.execute(text("SELECT key FROM idempotency_records")).scalars())

    backend = start_backend(db_url, artifacts_dir / "logs")
    try:
        deadline = time.monotonic() + 60
        while "expired" in keys() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert keys() == {"recent"}
    finally:
        backend.stop()
        engine.dispose()
