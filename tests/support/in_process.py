"""What a test sets up through the project's own functions, in this process, rather than through the command.

``assistant seed`` and ``assistant console password`` are these same
functions behind a command line; the commands themselves are tested where
they are what is tested (tests/backend/test_seed.py, tests/console/test_hub_desk.py).
Each call runs on an event loop of its own, on a thread, so it works from a
synchronous fixture and from inside a test's running loop alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import tempfile
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.engine import make_url

from assistant.backend.seed import seed
from assistant.console.login import set_password
from assistant.core.config import Settings
from assistant.db.engine import Database, is_sqlite

T = TypeVar("T")


def run_on_own_loop(work: Callable[[], Awaitable[T]], timeout: float = 120) -> T:
    """``asyncio.run(work())`` on a thread of its own; its result or its exception."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(asyncio.run(work()))  # type: ignore[arg-type]
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, name="in-process")
    thread.start()
    thread.join(timeout)
    if failure:
        raise failure[0]
    if not outcome:
        raise TimeoutError(f"not done within {timeout:.0f}s")
    return outcome[0]


def seeded(db_url: str, timezone: str = Settings.timezone) -> None:
    """The demo data in ``db_url``, as ``assistant seed --db URL`` loads it.

    The seed is the same every time, so a SQLite database is a copy (SQLite's
    online backup) of one seeded once per test process: a second instead of
    a whole seed. PostgreSQL databases are seeded.
    """
    if not is_sqlite(db_url):
        run_on_own_loop(lambda: _seed(db_url, timezone))
        return
    if timezone not in _SEEDED_TEMPLATES:
        template = Path(tempfile.mkdtemp(prefix="seeded-")) / "backend.db"
        run_on_own_loop(lambda: _seed(f"sqlite:///{template}", timezone))
        _SEEDED_TEMPLATES[timezone] = template
    target = make_url(db_url).database
    assert target, f"no file in {db_url}"
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(_SEEDED_TEMPLATES[timezone])) as source:
        with contextlib.closing(sqlite3.connect(target)) as copy:
            source.backup(copy)


_SEEDED_TEMPLATES: dict[str, Path] = {}


async def _seed(db_url: str, timezone: str) -> None:
    db = Database.connect(db_url)
    try:
        await seed(db, timezone)
    finally:
        await db.dispose()


def console_password(db_url: str, worker: str, password: str) -> None:
    """``worker``'s console password, as ``assistant console password`` sets it."""

    async def work() -> None:
        db = Database.connect(db_url)
        try:
            await db.migrate()
            await set_password(db, worker, password)
        finally:
            await db.dispose()

    run_on_own_loop(work)
