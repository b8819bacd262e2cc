"""The real scheduling backend on a real database: served from a thread of the test process, or as its own process.

Most tests only talk to the backend over HTTP, and for them the backend's
own aiohttp application, on its own database as ``assistant serve backend``
prepares it (seeded, slots cut), listening on a loopback port from a thread
of this process, is the backend: the same app, middlewares, database engines
and HTTP. It starts in a fraction of a second. Tests of the process itself
(its start-up, its log, its processes on PostgreSQL, what it does when
killed) start ``assistant serve backend`` (``start_backend``).

Tokens are made by the same function ``assistant token create`` calls
(``assistant.domain.api_tokens.create_token``), in the backend's database;
``tests/backend/test_trust.py`` runs the command itself.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from assistant.backend.app import create_app, server_database
from assistant.backend.seed import prepare_database
from assistant.core.config import Settings
from assistant.db.engine import Database
from assistant.domain.api_tokens import create_token
from tests.support.in_process import run_on_own_loop
from tests.support.local_server import LocalServer
from tests.support.processes import ManagedProcess, free_port, http_ok


async def _new_token(db: Database, role: str, worker: str | None) -> str:
    async with db.write() as session:
        return await create_token(session, role, worker, label="test")


@dataclass
class RunningBackend:
    url: str
    db_url: str
    process: ManagedProcess | None = None  # None: served from a thread of this process
    new_token: Callable[[str, str | None], str] | None = None
    stop_serving: Callable[[], None] | None = None
    _tokens: dict[tuple[str, str | None], str] = field(default_factory=dict)
    _engine: Engine | None = None

    def token(self, role: str, worker: str | None = None) -> str:
        """A real token, as ``assistant token create`` makes it (cached per role and worker)."""
        key = (role, worker)
        if key not in self._tokens:
            self._tokens[key] = self.new_token(role, worker) if self.new_token else _token_in_thread(self.db_url, key)
        return self._tokens[key]

    def headers(self, role: str = "worker", worker: str | None = "W001", **extra: str) -> dict[str, str]:
        token = self.token(role, worker if role != "service" else None)
        headers = {"Authorization": f"Bearer {token}"}
        if role == "service" and worker:
            headers["X-On-Behalf-Of"] = worker
        headers.update(extra)
        return headers

    @property
    def db(self) -> Engine:
        """Direct access to the backend's database, for checks and test set-up."""
        if self._engine is None:
            self._engine = create_engine(self.db_url, future=True)
        return self._engine

    def stop(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        if self.process is not None:
            self.process.stop()
        if self.stop_serving is not None:
            self.stop_serving()


def _token_in_thread(db_url: str, key: tuple[str, str | None]) -> str:
    """A token in ``db_url``'s database, from a loop of its own (the caller may be inside a running loop)."""

    async def make() -> str:
        db = Database.connect(db_url)
        try:
            return await _new_token(db, *key)
        finally:
            await db.dispose()

    return run_on_own_loop(make)


class BackendServer(LocalServer):
    """The backend's app on ``db_url``, prepared as ``assistant serve backend`` prepares it (seeded, slots cut)."""

    name = "backend"

    def __init__(self, db_url: str, timezone: str = Settings.timezone, clock_offset_days: float = 0.0) -> None:
        super().__init__()
        self.db_url, self.timezone, self.clock_offset_days = db_url, timezone, clock_offset_days
        self.db = server_database(db_url)

    async def application(self) -> web.Application:
        await prepare_database(self.db, self.timezone)
        # Closes the database when it stops.
        return create_app(self.db, timezone=self.timezone, clock_offset_days=self.clock_offset_days)


def serve_backend(db_url: str, timezone: str = Settings.timezone, clock_offset_days: float = 0.0) -> RunningBackend:
    """The backend served from a thread of this process, on a free loopback port (its tasks' clock moved
    ``clock_offset_days`` ahead: ``Settings.clock_offset_days``)."""
    server = BackendServer(db_url, timezone, clock_offset_days).start()
    return RunningBackend(
        url=server.url,
        db_url=db_url,
        new_token=lambda role, worker: server.run(_new_token(server.db, role, worker)),
        stop_serving=server.stop,
    )


def start_backend(
    db_url: str, log_dir: Path, env: dict[str, str] | None = None, options: tuple[str, ...] = ()
) -> RunningBackend:
    """``assistant serve backend`` on ``db_url`` and a free port, with further command-line ``options``."""
    port = free_port()
    process = ManagedProcess(
        "backend",
        [sys.executable, "-m", "assistant.cli", "serve", "backend", "--db", db_url, "--port", str(port), *options],
        log_dir / f"backend-{port}.log",
        env=env,
    ).start()
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_until_ready(lambda: http_ok(url + "/health"), timeout=60)
    except Exception:
        process.stop()
        raise
    return RunningBackend(url=url, db_url=db_url, process=process)


__all__ = ["BackendServer", "RunningBackend", "serve_backend", "start_backend"]
