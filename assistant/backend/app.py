"""The backend's aiohttp application."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from assistant.backend import (
    availability,
    catalog,
    consults,
    encounters,
    hub_routes,
    idempotency,
    task_routes,
    workers,
)
from assistant.backend.app_state import CHECKLISTS, CLOCK, DB, MAX_BODY_BYTES, PRINCIPALS, TIMEZONE
from assistant.backend.auth import authenticate, principal_cache
from assistant.backend.errors import json_errors, plain_text_only
from assistant.backend.figures import backend_readings
from assistant.backend.openapi import openapi_document
from assistant.core.clock import Clock
from assistant.core.config import Settings
from assistant.core.periodic import HOUR, every
from assistant.core.rules import TASK_REMINDER_INTERVAL
from assistant.db.engine import Database
from assistant.domain.slot_window import top_up_slots
from assistant.domain.task_reminders import remind_due_tasks
from assistant.http.access_log import PathOnlyAccessLogger
from assistant.http.metrics_aiohttp import add_metrics_route

log = logging.getLogger(__name__)


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


def create_app(
    db: Database,
    *,
    max_body_bytes: int = 64 * 1024,
    close_db: bool = True,
    timezone: str = Settings.timezone,
    housekeeping: bool = True,
    settings: Settings | None = None,
    clock_offset_days: float | None = None,
) -> web.Application:
    """The backend's application on ``db``; ``housekeeping``: run the hourly purges and slot generation.

    ``settings``: the running service's, for ``/metrics`` (its token, and the
    data directory whose backups and database files it reports); without
    them /metrics answers this machine only, with the backend's queues.
    ``clock_offset_days`` (default: the settings'): the follow-up tasks' clock
    is that many days ahead, for drills and tests (``assistant.core.clock``).
    """
    app = web.Application(middlewares=[json_errors, plain_text_only, authenticate], client_max_size=max_body_bytes)
    app[DB] = db
    app[MAX_BODY_BYTES] = max_body_bytes
    app[TIMEZONE] = timezone
    offset = clock_offset_days if clock_offset_days is not None else settings.clock_offset_days if settings else 0.0
    app[CLOCK] = Clock(timezone, offset)
    app[PRINCIPALS] = principal_cache()
    app[CHECKLISTS] = catalog.checklist_cache()
    catalog.add_routes(app)
    consults.add_routes(app)
    encounters.add_routes(app)
    workers.add_routes(app)
    hub_routes.add_routes(app)
    task_routes.add_routes(app)
    availability.add_routes(app)
    app.router.add_get("/openapi.json", openapi)
    add_metrics_route(app, settings.metrics_token if settings else "", backend_readings(db, settings))

    async def database_lifetime(_: web.Application) -> AsyncIterator[None]:
        yield
        if close_db:
            await db.dispose()

    app.cleanup_ctx.append(database_lifetime)
    if housekeeping:
        app.cleanup_ctx.append(_housekeeping)  # after the database's: stopped before it is closed
    return app


async def _housekeeping(app: web.Application) -> AsyncIterator[None]:
    """Expired idempotency records go at start and then hourly; every hour, the days that came into the
    slot window get their slots (at start, ``assistant serve backend`` cut them before listening), and the
    workers are reminded of the follow-ups due (at start too: a backend down over a morning catches up)."""
    db, timezone, clock = app[DB], app[TIMEZONE], app[CLOCK]
    tasks = [
        asyncio.create_task(every(HOUR, lambda: idempotency.purge_expired(db), "idempotency purge")),
        asyncio.create_task(every(HOUR, lambda: top_up_slots(db, timezone), "slot generation", first_delay=HOUR)),
        asyncio.create_task(every(TASK_REMINDER_INTERVAL, lambda: remind_due_tasks(db, clock), "task reminders")),
    ]
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def server_database(url: str) -> Database:
    """The database as the backend's server opens it.

    Its write transactions are all short (a booking, a cancel, a batch of a
    purge), so on SQLite they run on the event loop's thread, which is where
    most of a booking's time went (``assistant.db.inline_sqlite``).
    """
    return Database.connect(url, inline_writes=True)


def run(db: Database, host: str, port: int, **app_options: Any) -> None:
    app = create_app(db, **app_options)
    log.info("backend listening on http://%s:%s", host, port)
    web.run_app(app, host=host, port=port, access_log_class=PathOnlyAccessLogger, print=None)
