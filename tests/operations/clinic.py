"""A clinic's data directory for the backup tests: the real databases, written to as the services write them.

``EncounterWriter`` saves encounters through the backend's own ``Database``
from a thread of its own, for as long as it is asked to, so that a backup
can be taken in the middle of its writes. It knows which encounters were
committed at any moment.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import sqlite3
import threading
from pathlib import Path

from sqlalchemy import insert

from assistant.core.config import Settings, load_settings
from assistant.core.secrets import write_secret
from assistant.db.device import open_engine, outbox_table
from assistant.db.engine import Database
from assistant.db.models import Encounter
from assistant.domain.api_tokens import create_token
from assistant.operations.sources import sqlite_path
from tests.support.in_process import run_on_own_loop, seeded

# Nothing of a patient's may show in an archive's bytes.
PATIENT = "PT-BACKUP-7731"
SECRET_VALUE = "rasa-token-that-must-not-show"
WORKER, FACILITY = "W001", "hwc-ajari"
QUEUED_AT = dt.datetime(2026, 12, 1, 10, 0)
MAX_ENCOUNTERS = 150  # GET /encounters pages up to 200: one page shows them all


def clinic_settings(data_dir: Path, **overrides: object) -> Settings:
    return dataclasses.replace(load_settings(env={}), data_dir=data_dir, **overrides)  # type: ignore[arg-type]


def worker_token(db_url: str) -> str:
    async def make() -> str:
        db = Database.connect(db_url)
        try:
            async with db.write() as session:
                return await create_token(session, "worker", WORKER, label="backup test")
        finally:
            await db.dispose()

    return run_on_own_loop(make)


def make_clinic(settings: Settings) -> None:
    """A seeded backend, the action server's outbox with a waiting record, and a secret."""
    seeded(settings.database_url)
    engine = open_engine(settings.data_dir)
    with engine.begin() as connection:
        connection.execute(
            insert(outbox_table).values(
                kind="encounter",
                idempotency_key="backup-test-1",
                worker_id=WORKER,
                payload=json.dumps({"patient_ref": PATIENT}),
                status="pending",
                attempts=0,
                created_at=QUEUED_AT,
                updated_at=QUEUED_AT,
            )
        )
    engine.dispose()
    write_secret(settings, "rasa_token", SECRET_VALUE)


class EncounterWriter:
    """Saves encounters of ``PATIENT`` one after another, through ``Database.write``, until stopped."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self._committed: list[int] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._progress = threading.Condition(self._lock)
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="encounter-writer", daemon=True)

    def start(self) -> EncounterWriter:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._write())
        except BaseException as exc:
            self._failure = exc
        with self._progress:
            self._progress.notify_all()

    async def _write(self) -> None:
        db = Database.connect(self.db_url)
        try:
            while not self._stop.is_set() and len(self._committed) < MAX_ENCOUNTERS:
                async with db.write() as session:
                    encounter = Encounter(
                        patient_ref=PATIENT, worker_id=WORKER, facility_id=FACILITY, complaint="fever", pulse=88
                    )
                    session.add(encounter)
                    await session.flush()
                    new_id = encounter.id
                with self._progress:  # the transaction has committed
                    self._committed.append(new_id)
                    self._progress.notify_all()
        finally:
            await db.dispose()

    def committed(self) -> set[int]:
        with self._lock:
            return set(self._committed)

    def wait_for(self, count: int, timeout: float = 30) -> None:
        with self._progress:
            done = self._progress.wait_for(
                lambda: len(self._committed) >= count or self._failure is not None or not self._thread.is_alive(),
                timeout,
            )
        if self._failure is not None:
            raise self._failure
        assert done and len(self._committed) >= count, f"only {len(self._committed)} encounters written"

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        if self._failure is not None:
            raise self._failure


def encounter_ids(db_url: str) -> set[int]:
    with sqlite3.connect(sqlite_path(db_url)) as connection:
        rows = connection.execute("SELECT id FROM encounters WHERE patient_ref = ?", (PATIENT,)).fetchall()
    return {row[0] for row in rows}


def integrity(db_path: Path) -> str:
    with sqlite3.connect(db_path) as connection:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its content (to show that nothing was written)."""
    if not folder.exists():
        return {}
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}
