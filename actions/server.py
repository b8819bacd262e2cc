"""``python -m actions.server``: the action server, reachable by Rasa only.

rasa-sdk's own runner listens on every interface and answers anyone. This
server holds the backend's service token, so a forged tracker POSTed to it
could book, read or cancel as any worker. Here it:

- listens on loopback only (``ACTIONS_HOST``), whatever the settings say;
- refuses every request but ``/health`` without the shared secret that Rasa
  sends in the ``X-Action-Secret`` header (``action_endpoint`` in the
  generated endpoints.yml), compared in constant time;
- takes JSON bodies only (``Content-Type: application/json``), so a web
  page cannot send it a "simple" cross-site request either;
- answers ``/metrics`` (``actions.figures``) to this machine, or to a caller
  with the metrics token;
- answers an action that raised with a bare 500: rasa-sdk's own answer
  carries the whole tracker, which Rasa then writes to its log. Only the
  exception's kind and where it was raised are logged, never its message
  (it can hold what the worker said).

The offline outbox's delivery runs for the life of the server (``actions.sync``).
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
import traceback

from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.figures import outbox_readings, watch_actions
from actions.sync import attach
from assistant.core import log_safety, metrics
from assistant.core.config import ACTIONS_HOST, load_settings
from assistant.core.secrets import ACTION_SECRET_HEADER, ACTION_SECRET_VARIABLE
from assistant.http.metrics_sanic import add_metrics_route

log = logging.getLogger(__name__)

PUBLIC_PATHS = frozenset({"/health"})
JSON = "application/json"


def _error(status: int, code: str, message: str) -> HTTPResponse:
    return response.json({"error": {"code": code, "message": message}}, status=status)


def create_action_server(secret: str, package: str = "actions", metrics_token: str = "") -> Sanic:
    """``metrics_token`` opens ``/metrics`` to other machines (it always answers this one)."""
    if len(secret) < 16:
        raise ValueError(f"{ACTION_SECRET_VARIABLE} must be set (at least 16 characters): Rasa sends it")
    expected = secret.encode()
    app = create_app(package, cors_origins=None)  # no CORS: browsers get no way in

    @app.on_request
    async def require_secret(request: Request) -> HTTPResponse | None:
        if request.path in PUBLIC_PATHS or request.path == metrics.PATH:  # /metrics: this machine or its token
            return None
        given = (request.headers.get(ACTION_SECRET_HEADER) or "").encode()
        if not hmac.compare_digest(given, expected):
            return _error(401, "unauthorized", f"Only Rasa may call the action server ({ACTION_SECRET_HEADER}).")
        if request.method == "POST" and request.content_type.split(";")[0].strip().lower() != JSON:
            return _error(415, "unsupported_media_type", f"Send {JSON}.")
        return None

    @app.exception(Exception)
    async def action_failed(request: Request, exception: Exception) -> HTTPResponse:
        status = getattr(exception, "status_code", 500)
        if isinstance(status, int) and 400 <= status < 500:  # Sanic's own: a bad route or method
            return _error(status, "bad_request", type(exception).__name__)
        frames = traceback.extract_tb(exception.__traceback__)
        where = ", ".join(f"{frame.name} ({os.path.basename(frame.filename)}:{frame.lineno})" for frame in frames[-3:])
        log.error("an action raised %s in %s", type(exception).__name__, where)
        return _error(500, "action_failed", "The action failed.")

    watch_actions(app)
    add_metrics_route(app, metrics_token, outbox_readings)
    attach(app)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="the assistant's action server (loopback only, for Rasa)")
    parser.add_argument("--port", type=int, help="listen port (env ASSISTANT_ACTIONS_PORT, default 5055)")
    args = parser.parse_args(argv)
    settings = load_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log_safety.install()
    app = create_action_server(settings.action_secret, metrics_token=settings.metrics_token)
    port = args.port or settings.actions_port
    log.info("action server on http://%s:%d (Rasa only)", ACTIONS_HOST, port)
    app.run(ACTIONS_HOST, port, workers=1, access_log=False)


if __name__ == "__main__":
    main()
