"""``GET /metrics`` on an aiohttp app (the backend, the console): the kernel's figures and access rule."""

from __future__ import annotations

from aiohttp import web

from assistant.core import metrics


def add_metrics_route(app: web.Application, token: str, readings: metrics.Readings = metrics.no_readings) -> None:
    """``readings`` gives this service's scrape-time figures (its queue depths), read per request."""

    async def serve_metrics(request: web.Request) -> web.Response:
        if not metrics.may_read(request.remote, request.headers, token):
            return web.Response(status=403, text=metrics.REFUSAL)
        body = metrics.exposition(await readings())
        return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE})

    app.router.add_get(metrics.PATH, serve_metrics)
