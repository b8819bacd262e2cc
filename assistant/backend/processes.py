"""Serving the backend from several processes on PostgreSQL.

One Python process serves a booking in a few ms of CPU, and on PostgreSQL
that CPU, not the database, is what limits it. Several processes share one
listening socket (bound here, before they fork, so the port is taken once
and whichever process is free accepts the next connection); PostgreSQL
keeps them consistent as it keeps two backends consistent (row locks, the
unique indexes, advisory locks: ``assistant.db.locks``). Each process
has its own engines and its own caches (tokens are re-checked within
``IDENTITY_RECHECK_SECONDS`` in each); only the first runs the housekeeping
(purges, slot generation), which is safe but wasteful to run twice.

SQLite keeps one process: it has one writer at a time, and processes would
only queue for it, polling.

The parent does no serving. It answers SIGTERM and SIGINT by stopping the
children, and when any child ends, it stops the others and exits with an
error, so ``assistant up`` sees a dead backend and restarts the whole of it.
A child whose parent is gone (killed outright) stops itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from assistant.backend.app import create_app, run, server_database
from assistant.http.access_log import PathOnlyAccessLogger

log = logging.getLogger(__name__)

MAX_DEFAULT_PROCESSES = 4
PARENT_CHECK_SECONDS = 1.0
STOP_SECONDS = 10.0


def default_processes(is_sqlite: bool) -> int:
    """One on SQLite; on PostgreSQL one per core, up to ``MAX_DEFAULT_PROCESSES``."""
    return 1 if is_sqlite else max(1, min(os.cpu_count() or 1, MAX_DEFAULT_PROCESSES))


def serve(url: str, host: str, port: int, processes: int, **app_options: Any) -> int:
    """Serve ``url``'s backend on ``host:port`` from ``processes`` processes until stopped; the exit code."""
    if processes <= 1:
        run(server_database(url), host, port, **app_options)
        return 0
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family, backlog=1024)
    context = multiprocessing.get_context("fork")  # the children inherit the listening socket
    children = [
        context.Process(target=_child, args=(url, listener, index, os.getpid(), app_options), name=f"backend-{index}")
        for index in range(processes)
    ]
    asked_to_stop = False

    def terminate_children() -> None:
        for child in children:
            if child.is_alive():
                child.terminate()

    def stop(_signal: int, _frame: Any) -> None:
        nonlocal asked_to_stop
        asked_to_stop = True
        terminate_children()

    previous = {number: signal.signal(number, stop) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        for child in children:
            child.start()
        listener.close()  # the children hold it now
        log.info("backend listening on http://%s:%s in %d processes", host, port, processes)
        multiprocessing.connection.wait([child.sentinel for child in children])
        if not asked_to_stop:
            log.error("a backend process ended (exit code %s); stopping the others", _ended(children))
        terminate_children()
        for child in children:
            child.join(STOP_SECONDS)
            if child.is_alive():
                child.kill()
                child.join()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    return 0 if asked_to_stop else 1


def _ended(children: list[Any]) -> str:
    return ", ".join(str(child.exitcode) for child in children if child.exitcode is not None)


def _child(url: str, listener: socket.socket, index: int, parent: int, app_options: dict[str, Any]) -> None:
    # The parent's handlers came along with the fork; aiohttp installs its own on the loop.
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, signal.SIG_DFL)
    app = create_app(server_database(url), housekeeping=index == 0, **app_options)
    app.cleanup_ctx.append(lambda _app: _watch_parent(parent))
    try:
        web.run_app(app, sock=listener, access_log_class=PathOnlyAccessLogger, print=None)
    except Exception:
        log.exception("backend process %d failed", index)
        sys.exit(1)


async def _watch_parent(parent: int) -> AsyncIterator[None]:
    """Stop this process when the parent is gone (it was killed and could not stop us)."""

    async def watch() -> None:
        while os.getppid() == parent:
            await asyncio.sleep(PARENT_CHECK_SECONDS)
        log.warning("the backend's parent process is gone; stopping")
        os.kill(os.getpid(), signal.SIGTERM)

    task = asyncio.create_task(watch())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
