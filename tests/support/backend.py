"""The real scheduling backend, started as ``assistant serve backend`` on a real database."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from tests.support.processes import ManagedProcess, assistant_cli, free_port, http_ok


@dataclass
class RunningBackend:
    url: str
    db_url: str
    process: ManagedProcess
    _tokens: dict[tuple[str, str | None], str] = field(default_factory=dict)
    _engine: Engine | None = None

    def token(self, role: str, worker: str | None = None) -> str:
        """A real token from ``assistant token create`` (cached per role and worker)."""
        key = (role, worker)
        if key not in self._tokens:
            args = ["token", "create", "--db", self.db_url, "--role", role]
            if worker:
                args += ["--worker", worker]
            self._tokens[key] = assistant_cli(*args).strip()
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
        self.process.stop()


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
