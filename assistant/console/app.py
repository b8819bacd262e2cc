"""The console's aiohttp application: middlewares, routes, start-up and the background jobs (retention, sessions)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from assistant.console import (
    access,
    conversation_views,
    delivery_views,
    hub_views,
    login,
    overview_views,
    people_views,
    record_views,
    retention,
    review_views,
    task_views,
    tracker,
)
from assistant.console.access import Handler, check_csrf, require_sign_in, viewer
from assistant.console.app_state import DB, SETTINGS, STATE, TRACKER
from assistant.console.figures import console_readings
from assistant.console.pages import home_path, keep_to_role
from assistant.console.rendering import render
from assistant.core.config import Settings
from assistant.core.periodic import HOUR, every
from assistant.db.engine import Database
from assistant.http.access_log import PathOnlyAccessLogger
from assistant.http.metrics_aiohttp import add_metrics_route

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
RETENTION_INTERVAL_SECONDS = 6 * 3600
MAX_FORM_BYTES = 64 * 1024
SECURITY_HEADERS = {
    # No scripts at all; styles and images only from here (charts are inline SVG).
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # "no-referrer" would make browsers send "Origin: null" on our own forms
    # Patient data must not linger in shared browser caches.
    "Cache-Control": "no-store",
}


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(SECURITY_HEADERS)
        raise
    response.headers.update(SECURITY_HEADERS)
    return response


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or request.path.startswith("/static/"):
            raise
        wants_html = "text/html" in request.headers.get("Accept", "")
        if not wants_html:
            raise
        return render(request, "error.html", status=exc.status, status_code=exc.status, message=exc.text or exc.reason)
    except Exception:
        # Paths and forms may carry patient data: log the route only.
        resource = request.match_info.route.resource
        log.exception("unhandled error on %s %s", request.method, resource.canonical if resource else "?")
        return render(
            request, "error.html", status=500, status_code=500, message="Something went wrong; nothing was changed."
        )


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def home(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther(home_path(viewer(request).role))


async def _prepare(app: web.Application) -> None:
    await app[DB].migrate()  # the backend database: the console's tables are in its revisions
    if not await tracker.ready(app):
        log.warning("the tracker store has no events table yet (Rasa creates it on start); lists stay empty until then")


async def _retention(app: web.Application) -> None:
    await retention.purge(app[TRACKER], app[DB], app[SETTINGS].console_retention_days)
    await tracker.ensure_indexes(app[TRACKER])


async def _background(app: web.Application) -> AsyncIterator[None]:
    await _prepare(app)
    tasks = [asyncio.create_task(every(HOUR, lambda: access.purge_sessions(app[DB]), "purge of console sessions"))]
    if app[SETTINGS].console_retention_days > 0:
        tasks.append(asyncio.create_task(every(RETENTION_INTERVAL_SECONDS, lambda: _retention(app), "retention purge")))
    yield
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await app[DB].dispose()
    await app[TRACKER].dispose()


def create_app(settings: Settings, db: Database, tracker_db: Database) -> web.Application:
    app = web.Application(
        # Who may open a page is settled before a form is read; then the form must carry the session's token.
        middlewares=[security_headers, error_pages, require_sign_in, keep_to_role, check_csrf],
        client_max_size=MAX_FORM_BYTES,
    )
    app[SETTINGS] = settings
    app[DB] = db
    app[TRACKER] = tracker_db
    app[STATE] = {}
    app.router.add_get("/", home)
    app.router.add_get("/health", health)
    app.router.add_static("/static/", STATIC_DIR)
    add_metrics_route(app, settings.metrics_token, console_readings(settings))
    for module in (
        login,
        conversation_views,
        record_views,
        review_views,
        overview_views,
        people_views,
        delivery_views,
        task_views,
        hub_views,
    ):
        module.add_routes(app)
    app.cleanup_ctx.append(_background)
    return app


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    if not settings.console_tls_cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.console_tls_cert, settings.console_tls_key or None)
    return context


def run(settings: Settings, db: Database, tracker_db: Database, host: str, port: int) -> None:
    app = create_app(settings, db, tracker_db)
    context = ssl_context(settings)
    scheme = "https" if context else "http"
    log.info("console listening on %s://%s:%s", scheme, host, port)
    web.run_app(app, host=host, port=port, ssl_context=context, access_log_class=PathOnlyAccessLogger, print=None)
