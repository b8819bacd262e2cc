"""``assistant up`` as the fault suite drives it: its services found by command line, killed, frozen, restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.processes import http_ok, launch_up, paused, up_env, wait_for_line
from tests.support.sockets import descendants
from tests.support.stack import MODEL_CACHE

# How each service's process is told apart on its command line (assistant.stack.services).
SERVICE_MARKERS = {
    "backend": "serve backend",
    "actions": "actions.server",
    "rasa": "assistant.rasa_server",
    "console": "serve console",
}
READY = "Press Ctrl-C to stop"


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@dataclass
class AssistantUnderTest:
    root: Path
    settings: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def __post_init__(self) -> None:
        self.env, self.ports = up_env(self.root / "data", MODEL_CACHE, **self.settings)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service.upper()]}"

    def start(self) -> None:
        self.starts += 1
        log = self.root / f"up-{self.starts}.log"
        self.process = launch_up(self.env, log)
        try:
            wait_for_line(log, READY, self.process, timeout=300)
        except AssertionError:
            self.process.kill()
            raise

    def stop(self) -> None:
        """Ctrl-C, as a clinic's staff would stop it; everything it started ends."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=120)

    def restart(self) -> None:
        self.stop()
        self.start()

    def pid_of(self, service: str) -> int:
        assert self.process is not None
        marker = SERVICE_MARKERS[service]
        found = [pid for pid in descendants(self.process.pid) if marker in _command_line(pid)]
        if not found:
            raise LookupError(f"{service} is not running under assistant up")
        return min(found)  # the service itself, not a child it started

    def kill(self, service: str) -> None:
        os.kill(self.pid_of(service), signal.SIGKILL)

    def freeze(self, service: str, seconds: float) -> None:
        with paused(self.pid_of(service)):
            time.sleep(seconds)

    def healthy(self) -> bool:
        checks = {
            "backend": "/health",
            "actions": "/health",
            "rasa": "/",
            "console": "/login",
        }
        return all(http_ok(self.url(service) + path, timeout=2) for service, path in checks.items())

    def wait_until_healthy(self, timeout: float = 180.0) -> None:
        """Until every service answers again; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if time.monotonic() > deadline:
                raise AssertionError(f"assistant up did not recover within {timeout:.0f}s")
            time.sleep(0.5)
