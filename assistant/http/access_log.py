"""The HTTP access log of the backend and the console: paths only, never query strings."""

from __future__ import annotations

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from assistant.core.log_safety import escape


def logged_path(request: web.BaseRequest) -> str:
    """The path as it was sent (still percent-encoded, so ``%0a`` stays ``%0a``), without the query."""
    return escape(request.raw_path.split("?", 1)[0])


class PathOnlyAccessLogger(AbstractAccessLogger):
    """Query strings carry patient references (``?patient_ref=``), so they are never logged."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %.1fms", escape(request.method), logged_path(request), response.status, time * 1000)
