"""SQL statements per booking: one routine ``POST /consults`` through the backend's app, counted at the driver.

The backend's own ``create_app`` runs in this process behind aiohttp's test
server, on a fresh seeded database opened as the server opens it
(``server_database``); a first request warms the token cache, so what is
counted is a booking's own work. Every statement either engine sends is
counted (``before_cursor_execute``), and so are BEGIN, COMMIT and ROLLBACK,
which drivers may issue without a cursor (counted once each, by their events).
Not counted: the two ``PRAGMA busy_timeout`` calls around an inline SQLite
BEGIN (``assistant.db.inline_sqlite``), which set a connection option
and read no table.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import event
from sqlalchemy.engine import Engine

from assistant.backend import seed
from assistant.backend.app import create_app, server_database
from assistant.db.engine import Database
from assistant.domain.api_tokens import create_token

TIMEZONE = "Asia/Kolkata"


@dataclass
class StatementLog:
    statements: list[str] = field(default_factory=list)

    def add(self, sql: str) -> None:
        self.statements.append(" ".join(sql.split())[:90])

    @property
    def count(self) -> int:
        """Everything the database was asked to do, COMMIT included."""
        return len(self.statements)


@contextmanager
def statements_of(db: Database) -> Iterator[StatementLog]:
    """Every statement either of ``db``'s engines sends while the block runs."""
    log = StatementLog()
    both = (db.reader_engine.sync_engine, db.writer_engine.sync_engine)
    engines: list[Engine] = list({id(engine): engine for engine in both}.values())  # one on PostgreSQL

    def on_begin(_conn: Any) -> None:
        log.add("BEGIN")

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):  # counted by its event
            log.add(statement)

    def on_commit(_conn: Any) -> None:
        log.add("COMMIT")

    def on_rollback(_conn: Any) -> None:
        log.add("ROLLBACK")

    listeners = [
        ("begin", on_begin),
        ("before_cursor_execute", on_execute),
        ("commit", on_commit),
        ("rollback", on_rollback),
    ]
    for engine in engines:
        for name, listener in listeners:
            event.listen(engine, name, listener)
    try:
        yield log
    finally:
        for engine in engines:
            for name, listener in listeners:
                event.remove(engine, name, listener)


@dataclass
class BookingCost:
    setup: str
    statements: list[str]
    sequential_ms: float  # the median of a run of bookings one after another, in this process

    @property
    def count(self) -> int:
        return len(self.statements)


async def booking_cost(db_url: str, setup: str, sequential: int = 50) -> BookingCost:
    db = server_database(db_url)
    await seed.seed(db, TIMEZONE)
    async with db.write() as session:
        token = await create_token(session, "service", None)
    headers = {"Authorization": f"Bearer {token}", "X-On-Behalf-Of": "W001"}
    client = TestClient(TestServer(create_app(db, close_db=False, timezone=TIMEZONE)))
    await client.start_server()
    try:

        async def book(n: int) -> None:
            body = {"patient_ref": f"Q-{n}", "specialty": "general_medicine", "urgency": "routine"}
            response = await client.post("/consults", json=body, headers={**headers, "Idempotency-Key": f"q-{n}"})
            assert response.status == 201, await response.text()
            await response.read()

        await book(0)  # the token is resolved and cached here
        with statements_of(db) as log:
            await book(1)
        timings = []
        for n in range(2, 2 + sequential):
            started = time.perf_counter()
            await book(n)
            timings.append((time.perf_counter() - started) * 1000)
        return BookingCost(setup, log.statements, statistics.median(timings))
    finally:
        await client.close()
        await db.dispose()


def print_costs(costs: list[BookingCost], verbose: bool = False) -> None:
    for cost in costs:
        print(
            f"{cost.setup:<10} queries per booking (routine POST /consults, warm token cache): {cost.count:>3}"
            f"   one booking alone, in-process: {cost.sequential_ms:.1f} ms (median)"
        )
        if verbose:
            for statement in cost.statements:
                print(f"{'':<12}{statement}")


def main(db_urls: dict[str, str] | None = None, verbose: bool = True) -> list[BookingCost]:
    """Count on SQLite (or on ``db_urls``: setup name -> URL), printing each statement."""
    with tempfile.TemporaryDirectory(prefix="bench-queries-") as scratch:
        urls = db_urls or {"sqlite": f"sqlite:///{Path(scratch) / 'queries.db'}"}
        costs = [asyncio.run(booking_cost(url, setup)) for setup, url in urls.items()]
    print_costs(costs, verbose)
    return costs


if __name__ == "__main__":
    main()
