"""``GET /metrics`` on a Sanic app (Rasa's, the action server's): the kernel's figures and access rule."""

from __future__ import annotations

from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, raw, text

from assistant.core import metrics


def add_metrics_route(app: Sanic, token: str, readings: metrics.Readings = metrics.no_readings) -> None:
    """``readings`` gives this service's scrape-time figures (its queue depths), read per request."""

    async def serve_metrics(request: Request) -> HTTPResponse:
        if not metrics.may_read(request.ip, request.headers, token):
            return text(metrics.REFUSAL, status=403)
        return raw(metrics.exposition(await readings()), content_type=metrics.CONTENT_TYPE)

    app.add_route(serve_metrics, metrics.PATH, methods=["GET"], name="assistant_metrics")
