"""Start services in order, wait until each is ready, restart any that die, stop them in reverse."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.stack.log_files import LogRotation
from assistant.stack.process import ManagedProcess, ReadyCheck

log = logging.getLogger(__name__)

RESTART_BACKOFF_SECONDS = (2.0, 5.0, 15.0, 30.0, 60.0)
# A service that stayed up this long has recovered: its next crash restarts it quickly again.
HEALTHY_AFTER_SECONDS = 60.0


@dataclass
class ServiceSpec:
    name: str
    command: Sequence[str]
    url: str
    ready: ReadyCheck
    env: Mapping[str, str] = field(default_factory=dict)
    startup_timeout: float = 120.0


class Supervisor:
    def __init__(self, specs: Sequence[ServiceSpec], log_dir: Path, rotation: LogRotation | None = None) -> None:
        self.specs = list(specs)
        self.log_dir = log_dir
        self.rotation = rotation
        self.processes: dict[str, ManagedProcess] = {}
        self._stopping = threading.Event()

    def _spawn(self, spec: ServiceSpec) -> ManagedProcess:
        process = ManagedProcess(
            spec.name, spec.command, self.log_dir / f"{spec.name}.log", spec.env, self.rotation
        ).start()
        self.processes[spec.name] = process
        return process

    def spec(self, name: str) -> ServiceSpec:
        return next(spec for spec in self.specs if spec.name == name)

    def start(self, name: str) -> None:
        spec = self.spec(name)
        self._spawn(spec).wait_until_ready(spec.ready, spec.startup_timeout)

    def stop(self, name: str) -> None:
        process = self.processes.get(name)
        if process is not None:
            process.stop()

    def start_all(self) -> None:
        """Start each service and wait for it, so later ones find their dependencies up."""
        try:
            for spec in self.specs:
                self.start(spec.name)
                log.info("%s ready at %s", spec.name, spec.url)
        except BaseException:
            self.stop_all()
            raise

    def watch(self, poll_seconds: float = 1.0, on_poll: Callable[[], None] | None = None) -> None:
        """Block, restarting crashed services with backoff, until ``stop_all``.

        The assistant keeps working while one part restarts: the action
        server queues records in its outbox while the backend is away.
        ``on_poll`` runs every round (``assistant up`` checks its terminal).
        """
        failures: dict[str, int] = {}
        next_try: dict[str, float] = {}
        while not self._stopping.wait(poll_seconds):
            if on_poll is not None:
                on_poll()
            for spec in self.specs:
                process = self.processes.get(spec.name)
                if process is None or self._stopping.is_set():
                    continue
                now = time.monotonic()
                if process.running:
                    if now - process.started_at >= HEALTHY_AFTER_SECONDS:
                        failures.pop(spec.name, None)
                    continue
                if spec.name not in next_try:
                    count = failures.get(spec.name, 0)
                    delay = RESTART_BACKOFF_SECONDS[min(count, len(RESTART_BACKOFF_SECONDS) - 1)]
                    failures[spec.name] = count + 1
                    next_try[spec.name] = now + delay
                    log.warning("%s stopped (see %s); restarting in %.0fs", spec.name, process.log_path, delay)
                elif now >= next_try[spec.name]:
                    del next_try[spec.name]
                    self._spawn(spec)

    def stop_all(self) -> None:
        self._stopping.set()
        for spec in reversed(self.specs):
            process = self.processes.get(spec.name)
            if process is not None:
                process.stop()
