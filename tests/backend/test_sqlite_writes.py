"""SQLite write transactions as the backend's server runs them (``inline_writes``), held to what writes promised before.

Every test runs on both ways of writing (on aiosqlite's thread, and on the
event loop's own), except those about what only the loop's way has to take
care of: waiting for another process's write lock without stalling the loop,
and checkpoints kept off the loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from assistant.db import inline_sqlite
from assistant.db.engine import Database
from assistant.db.models import Checklist, Consult, Facility, Worker

MODES = pytest.mark.parametrize("db", ["inline", "thread"], indirect=True)
INLINE = pytest.mark.parametrize("db", ["inline"], indirect=True)


@pytest.fixture
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    database = Database.connect(f"sqlite:///{tmp_path / 'backend.db'}", inline_writes=request.param == "inline")
    await database.migrate()
    async with database.write() as session:
        session.add(Facility(id="hwc", name="HWC", kind="hwc", district="Sirohi"))
        session.add(Worker(id="W1", name="Asha", facility_id="hwc", role="worker"))
    yield database
    await database.dispose()


def _file(db: Database) -> str:
    path = db.writer_engine.url.database
    assert path
    return path


def consult(ref: str, worker: str = "W1") -> Consult:
    return Consult(
        patient_ref=ref, specialty="ent", urgency="routine", status="requested", requested_by=worker, facility_id="hwc"
    )


async def refs(db: Database) -> set[str]:
    async with db.read() as session:
        return set((await session.execute(select(Consult.patient_ref))).scalars())


@MODES
async def test_the_pragmas_behind_durability_hold_inside_a_write(db: Database) -> None:
    async with db.write() as session:
        settings = {
            name: (await session.execute(text(f"PRAGMA {name}"))).scalar_one()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    assert settings == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "busy_timeout": 30_000}


@MODES
async def test_a_commit_that_fails_fails_its_writer_and_keeps_nothing(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.write() as session:
            # The foreign key is checked at COMMIT: the statements all succeed, the COMMIT does not.
            await session.execute(text("PRAGMA defer_foreign_keys=ON"))
            session.add(consult("ORPHAN", worker="nobody"))
            await session.flush()
    assert await refs(db) == set()
    async with db.write() as session:  # the connection went back clean
        session.add(consult("NEXT"))
    assert await refs(db) == {"NEXT"}


@MODES
async def test_writers_at_once_each_keep_or_lose_only_their_own_work(db: Database) -> None:
    class Refused(Exception):
        pass

    async def writer(n: int) -> None:
        async with db.write() as session:
            session.add(consult(f"C-{n}"))
            await session.flush()
            await asyncio.sleep(0)  # let the others queue meanwhile
            if n % 3 == 0:
                raise Refused(n)

    outcomes = await asyncio.gather(*(writer(n) for n in range(12)), return_exceptions=True)
    failed = {n for n, outcome in enumerate(outcomes) if isinstance(outcome, Refused)}
    assert failed == {0, 3, 6, 9}
    assert await refs(db) == {f"C-{n}" for n in range(12) if n not in failed}


@INLINE
async def test_waiting_for_another_process_write_lock_leaves_the_loop_serving(db: Database) -> None:
    other = sqlite3.connect(_file(db), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process (the console, a command) is writing
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def write() -> None:
        async with db.write() as session:
            session.add(consult("AFTER-THE-OTHER"))

    clock = asyncio.create_task(ticker())
    writing = asyncio.create_task(write())
    await asyncio.sleep(0.5)
    assert not writing.done()
    assert ticks >= 10  # a BEGIN waiting in busy_timeout on the loop's thread would have stopped the clock
    other.execute("COMMIT")
    other.close()
    await asyncio.wait_for(writing, 5)
    clock.cancel()
    assert await refs(db) == {"AFTER-THE-OTHER"}


@INLINE
async def test_a_write_lock_held_past_the_busy_timeout_is_an_error(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inline_sqlite, "SQLITE_BUSY_TIMEOUT_MS", 300)
    other = sqlite3.connect(_file(db), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")

    async def write() -> None:
        async with db.write() as session:
            session.add(consult("NEVER"))

    try:
        with pytest.raises(OperationalError, match="locked"):
            await asyncio.wait_for(write(), 10)  # a wait without end fails here, not by hanging
    finally:
        other.execute("ROLLBACK")
        other.close()
    async with db.write() as session:
        session.add(consult("LATER"))
    assert await refs(db) == {"LATER"}


async def add_checklist(db: Database, slug: str, size: int = 1) -> None:
    async with db.write() as session:
        await session.execute(
            insert(Checklist).values(
                slug=slug, title_en="x" * size, title_hi="x", source_guideline="g", source_publisher="p"
            )
        )


def checkpointed(db: Database) -> set[str]:
    """The checklists in the database file itself, leaving out what is still only in the WAL."""
    connection = sqlite3.connect(f"file:{_file(db)}?immutable=1", uri=True)
    try:
        return {slug for (slug,) in connection.execute("SELECT slug FROM checklists")}
    except sqlite3.OperationalError:  # not even the table has been copied into the file yet
        return set()
    finally:
        connection.close()


@INLINE
async def test_checkpoints_come_from_a_worker_thread_not_from_a_commit(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert db.inline_writer is not None
    await db.inline_writer.settle()
    monkeypatch.setattr(inline_sqlite, "CHECKPOINT_EVERY", 1000)
    assert "big" not in checkpointed(db)

    # Some 1500 pages: past SQLite's own automatic checkpoint (1000), which would run inside this COMMIT.
    await add_checklist(db, "big", 6_000_000)
    await asyncio.sleep(0.1)
    assert "big" not in checkpointed(db)
    async with db.read() as session:  # committed all the same: readers see it through the WAL
        assert (await session.execute(select(Checklist.slug))).scalars().all() == ["big"]
    monkeypatch.setattr(inline_sqlite, "CHECKPOINT_EVERY", 1)
    await add_checklist(db, "small")
    await db.inline_writer.settle()
    assert checkpointed(db) == {"big", "small"}


@INLINE
async def test_a_checkpoint_due_while_another_runs_still_covers_the_last_commit(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = db.inline_writer
    assert writer is not None
    await writer.settle()
    monkeypatch.setattr(inline_sqlite, "CHECKPOINT_EVERY", 1)
    first_done, release = threading.Event(), threading.Event()
    real_checkpoint = writer._run_checkpoint

    def slow_first_checkpoint() -> None:
        real_checkpoint()
        if not first_done.is_set():
            first_done.set()
            release.wait(10)  # still running when the next commit asks for a checkpoint

    monkeypatch.setattr(writer, "_run_checkpoint", slow_first_checkpoint)

    await add_checklist(db, "first")
    assert await asyncio.to_thread(first_done.wait, 10)
    await add_checklist(db, "second")  # its checkpoint falls due while the first one still runs
    release.set()
    await writer.settle()
    assert checkpointed(db) == {"first", "second"}


async def test_a_new_database_opened_while_another_connection_holds_it_waits_and_goes_to_wal(tmp_path: Path) -> None:
    """SQLite refuses the switch to WAL at once, busy handler or not, while another connection has the file."""
    path = tmp_path / "new.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    # As a second server, opening the same new file a moment earlier, in the middle of creating its tables.
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE first_table (id INTEGER)")
    threading.Timer(0.3, lambda: other.execute("COMMIT")).start()
    database = Database.connect(f"sqlite:///{path}")
    try:
        async with database.read() as session:
            assert (await session.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
    finally:
        await database.dispose()
        other.close()
