"""Start the real ``assistant`` command and services on free ports."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from assistant.core.config import PROJECT_DIR
from assistant.stack.process import ManagedProcess, http_ok

__all__ = ["ManagedProcess", "http_ok", "free_port", "assistant_cli", "up_env", "launch_up", "wait_for_line"]

STACK_SERVICES = ("BACKEND", "ACTIONS", "RASA", "CONSOLE")
UP_COMMAND = [sys.executable, "-m", "assistant.cli", "up"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assistant_cli(*args: str, env: Mapping[str, str] | None = None, timeout: float = 120) -> str:
    """Run the real ``assistant`` command and return its stdout."""
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
