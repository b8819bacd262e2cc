"""HTML pages from Jinja templates, escaped by default (transcripts hold untrusted text)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web

from assistant.console.app_state import SETTINGS
from assistant.core.config import Settings

_environment = jinja2.Environment(
    loader=jinja2.PackageLoader("assistant.console", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _local_time(timestamp: float | dt.datetime | None, zone: str, style: str = "%d %b %Y %H:%M") -> str:
    if timestamp is None:
        return ""
    moment = timestamp if isinstance(timestamp, dt.datetime) else dt.datetime.fromtimestamp(timestamp, dt.timezone.utc)
    return moment.astimezone(ZoneInfo(zone)).strftime(style)


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.0f}%"


def render(request: web.Request, template: str, *, status: int = 200, **context: Any) -> web.Response:
    settings: Settings = request.app[SETTINGS]
    page = _environment.get_template(template).render(
        viewer=request.get("viewer"),
        request_path=request.path,
        local_time=lambda value, style="%d %b %Y %H:%M": _local_time(value, settings.timezone, style),
        percent=_percent,
        urlencode=urlencode,
        **context,
    )
    return web.Response(text=page, status=status, content_type="text/html", charset="utf-8")
