"""Start the real ``assistant`` command and services on free ports."""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from subprocess import CompletedProcess
from unittest import mock

from assistant.core.config import PROJECT_DIR
from assistant.stack.process import ManagedProcess, http_ok

__all__ = [
    "ManagedProcess",
    "http_ok",
    "free_port",
    "assistant_cli",
    "assistant_process",
    "run_assistant",
    "up_env",
    "launch_up",
    "wait_for_line",
    "paused",
]

STACK_SERVICES = ("BACKEND", "ACTIONS", "RASA", "CONSOLE")
# Commands run in this process share its environment, umask and standard output: one at a time.
_ONE_COMMAND_AT_A_TIME = threading.Lock()
UP_COMMAND = [sys.executable, "-m", "assistant.cli", "up"]


@contextlib.contextmanager
def paused(pid: int) -> Iterator[None]:
    """Process ``pid`` frozen (SIGSTOP) until the block ends: whoever calls it waits, mid-request."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_assistant(*args: str, env: Mapping[str, str] | None = None, timeout: float = 120) -> CompletedProcess[str]:
    """Run the real ``assistant`` command (``assistant.cli.main``: its parser and handler): its code and output.

    In this process, on a thread of its own (its handlers run their own event
    loops), with ``env`` added to the environment (an empty value counts as
    unset) and the umask put back afterwards: the command as the shell runs it,
    less the half second a new interpreter takes. ``assistant_process`` runs it
    as a process of its own.
    """
    from assistant.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    codes: list[int] = []

    def run() -> None:
        try:
            codes.append(main(list(args)))
        except SystemExit as exit_:  # argparse refusing the arguments
            codes.append(exit_.code if isinstance(exit_.code, int) else 1)

    with _ONE_COMMAND_AT_A_TIME, mock.patch.dict(os.environ, env or {}), redirect_stdout(stdout):
        with redirect_stderr(stderr):
            umask = os.umask(0o077)
            try:
                thread = threading.Thread(target=run, name="assistant-command")
                thread.start()
                thread.join(timeout)
            finally:
                os.umask(umask)
    if thread.is_alive():
        raise TimeoutError(f"assistant {' '.join(args)} did not finish within {timeout:.0f}s")
    return CompletedProcess(["assistant", *args], codes[0], stdout.getvalue(), stderr.getvalue())


def assistant_cli(*args: str, env: Mapping[str, str] | None = None, timeout: float = 120) -> str:
    """Run the real ``assistant`` command in this process (``run_assistant``); its stdout, or an error."""
    done = run_assistant(*args, env=env, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"assistant {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def assistant_process(*args: str, env: Mapping[str, str] | None = None, timeout: float = 120) -> str:
    """Run the real ``assistant`` command as a process of its own and return its stdout."""
    result = subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=PROJECT_DIR,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"assistant {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


def up_env(data_dir: Path, model_dir: Path, **settings: str) -> tuple[dict[str, str], dict[str, int]]:
    """The environment for ``assistant up`` on free ports, and those ports by service name."""
    ports = {name: free_port() for name in STACK_SERVICES}
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(data_dir),
        "ASSISTANT_MODEL_DIR": str(model_dir),
        **{f"ASSISTANT_{name}_PORT": str(port) for name, port in ports.items()},
        **settings,
    }
    return env, ports


def launch_up(env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``assistant up`` in its own session (so a test can signal the group), output to ``log``."""
    with log.open("wb") as output:
        return subprocess.Popen(UP_COMMAND, stdout=output, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def wait_for_line(log: Path, pattern: str, process: subprocess.Popen[bytes], timeout: float) -> str:
    """The log's text once ``pattern`` appears in it; fails if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if re.search(pattern, text):
            return text
        if process.poll() is not None:
            raise AssertionError(f"assistant up exited with {process.returncode}:\n{text[-3000:]}")
        time.sleep(0.5)
    raise AssertionError(f"no {pattern!r} within {timeout:.0f}s:\n{log.read_text(errors='replace')[-3000:]}")
