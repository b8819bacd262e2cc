"""Start the real ``assistant`` command and services on free ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Mapping

from assistant.core.config import PROJECT_DIR
from assistant.stack.process import ManagedProcess, http_ok

__all__ = ["ManagedProcess", "http_ok", "free_port", "assistant_cli"]


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
