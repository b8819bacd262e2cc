"""Each service's output, written to its log file under ``data_dir/logs`` and rotated by size.

A service's stdout and stderr come through a pipe, line by line, to a
``RotatingFileHandler``: at ``log_max_bytes`` the file becomes ``NAME.log.1``
(the older ones shift up) and ``log_backups`` old files are kept, so a clinic
machine running for months never fills its disk with logs. The services
themselves need not know: Rasa, the action server and the backend all just
print.

One handler per file, shared by every process writing it: a service that
restarts while its old process still drains (``rasa run``'s helpers keep the
pipe open a moment) must not rotate the same file twice.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import IO

from assistant.core.config import Settings

# A line longer than this (a runaway traceback without newlines) is written in pieces.
LONGEST_LINE = 64 * 1024


@dataclass(frozen=True)
class LogRotation:
    max_bytes: int = Settings.log_max_bytes
    backups: int = Settings.log_backups

    @classmethod
    def from_settings(cls, settings: Settings) -> LogRotation:
        return cls(settings.log_max_bytes, settings.log_backups)


_lock = threading.Lock()
_open: dict[Path, tuple[RotatingFileHandler, int]] = {}  # handler, how many pumps write it


def _acquire(path: Path, rotation: LogRotation) -> RotatingFileHandler:
    with _lock:
        handler, users = _open.get(path, (None, 0))
        if handler is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler = RotatingFileHandler(
                path, maxBytes=rotation.max_bytes, backupCount=rotation.backups, encoding="utf-8", errors="replace"
            )
            handler.setFormatter(logging.Formatter("%(message)s"))
        _open[path] = (handler, users + 1)
        return handler


def _release(path: Path) -> None:
    with _lock:
        handler, users = _open[path]
        if users > 1:
            _open[path] = (handler, users - 1)
            return
        del _open[path]
    handler.close()


def _record(line: bytes) -> logging.LogRecord:
    text = line.decode("utf-8", errors="replace").rstrip("\r\n")
    return logging.LogRecord("service", logging.INFO, "", 0, text, None, None)


def _pump(output: IO[bytes], path: Path, handler: RotatingFileHandler) -> None:
    try:
        with output:
            for line in iter(lambda: output.readline(LONGEST_LINE), b""):
                handler.handle(_record(line))
    finally:
        _release(path)


def write_output(output: IO[bytes], path: Path, rotation: LogRotation, name: str) -> threading.Thread:
    """Copy ``output`` (a child's pipe) into ``path`` until the child and its helpers close it."""
    handler = _acquire(path, rotation)
    thread = threading.Thread(target=_pump, args=(output, path, handler), name=f"log-{name}", daemon=True)
    thread.start()
    return thread
