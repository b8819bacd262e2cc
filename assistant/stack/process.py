"""One supervised child process with its output in a log file, rotated by size (``assistant.stack.log_files``)."""

from __future__ import annotations

import ctypes
import os
import platform
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from assistant.core.config import PROJECT_DIR
from assistant.stack.log_files import LogRotation, write_output

ReadyCheck = Callable[[], bool]

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child receive SIGTERM when its parent dies (Linux).

    That is what ends the services when ``assistant up`` is killed outright
    (SIGKILL) and cannot stop them itself. The kernel sends it when the
    *thread* that started the child exits, so services are started from the
    main thread or from the supervisor's long-lived watch thread only.
    """
    if platform.system() != "Linux":
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before fork: the child only calls it
    parent = os.getpid()

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the line above
            os._exit(1)

    return arm


def http_ok(url: str, timeout: float = 2.0, headers: Mapping[str, str] | None = None) -> bool:
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def port_free(host: str, port: int) -> bool:
    """Whether a service could listen on ``host:port`` now."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # A port a stopped service left in TIME_WAIT is free for a server.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


class ManagedProcess:
    def __init__(
        self,
        name: str,
        command: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
        rotation: LogRotation | None = None,
    ) -> None:
        """``rotation``: how ``log_path`` rotates (``assistant.stack.log_files``); default the settings' defaults."""
        self.name = name
        self.command = list(command)
        self.log_path = log_path
        self.env = {**os.environ, **(env or {})}
        self.rotation = rotation or LogRotation()
        self.process: subprocess.Popen[bytes] | None = None
        self.output: threading.Thread | None = None  # copies the output into the log
        self.started_at = 0.0  # time.monotonic() of the latest start

    def start(self) -> ManagedProcess:
        # A session of its own: Ctrl-C in the terminal reaches the
        # supervisor only, which then stops the children in order.
        self.process = subprocess.Popen(
            self.command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=PROJECT_DIR,
            start_new_session=True,
            preexec_fn=_die_with_parent(),
        )
        assert self.process.stdout is not None
        self.output = write_output(self.process.stdout, self.log_path, self.rotation, self.name)
        self.started_at = time.monotonic()
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def wait_until_ready(self, ready: ReadyCheck, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with code {self.process.returncode}; last output:\n{self.log_tail()}"
                )
            if ready():
                return
            time.sleep(0.25)
        raise TimeoutError(f"{self.name} was not ready within {timeout:.0f}s; last output:\n{self.log_tail()}")

    def _drained(self, timeout: float = 5.0) -> None:
        """Once the process has ended, its last lines are in the log before anyone reads it."""
        if self.output is not None and self.process is not None and self.process.poll() is not None:
            self.output.join(timeout)

    def log_text(self) -> str:
        self._drained()
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        if not self.running:
            return
        assert self.process is not None
        # Signal the whole group: `rasa run` forks helpers of its own.
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=timeout)
        self._drained()
