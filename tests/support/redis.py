"""A throwaway Redis server (Debian's redis-server) for the test session."""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path

from assistant.stack.process import ManagedProcess
from tests.support.processes import free_port


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found; `make test` installs the redis-server package")
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="fa-redis-"))
        self.process = ManagedProcess(
            "redis",
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
            ],
            self.root / "redis.log",
        )

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process.start().wait_until_ready(lambda: _answers_ping(self.port), timeout=30)
        return self

    def stop(self) -> None:
        self.process.stop()
        shutil.rmtree(self.root, ignore_errors=True)


__all__ = ["RedisServer"]
