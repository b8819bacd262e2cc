"""The action server's figures: each action call timed by the conversation's channel, failures by action,
and the offline outbox's rows by state (read when Prometheus asks).

Rasa posts ``{"next_action": name, "tracker": {"latest_input_channel": ...}}``
to ``/webhook``; only those two names are read, never the tracker's content.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

from prometheus_client.core import Metric
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.services import services
from assistant.core import metrics
from assistant.db.figures import outbox_states

WEBHOOK = "/webhook"


def _call(request: Request) -> tuple[Any, Any]:
    """(the conversation's channel, the action's name) of a call Rasa made."""
    try:
        body = request.json
    except Exception:  # a compressed or broken body: Sanic's own refusal of it
        body = None
    if not isinstance(body, dict):
        return None, None
    tracker = body.get("tracker")
    return (tracker.get("latest_input_channel") if isinstance(tracker, dict) else None), body.get("next_action")


def watch_actions(app: Sanic) -> None:
    """Time every call to ``/webhook``; one answered 5xx is a failure of that action."""

    @app.on_request
    async def started(request: Request) -> None:
        if request.path == WEBHOOK:
            request.ctx.action_started = time.perf_counter()

    @app.on_response
    async def answered(request: Request, response: HTTPResponse) -> None:
        started_at = getattr(request.ctx, "action_started", None)
        if started_at is None:
            return
        request.ctx.action_started = None  # once, should Sanic run this twice for one request
        channel, action = _call(request)
        metrics.observe_action(channel, time.perf_counter() - started_at)
        if response.status >= 500:
            metrics.ACTION_FAILURES.labels(metrics.action_label(action)).inc()


async def outbox_readings() -> Iterable[Metric]:
    counts = await asyncio.to_thread(outbox_states, services().settings.data_dir)
    return [metrics.outbox_rows(counts or {})]
