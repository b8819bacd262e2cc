"""Typed keys for what the backend's handlers share through the application (aiohttp ``AppKey``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from assistant.core.cache import TTLCache
from assistant.core.clock import Clock
from assistant.db.engine import Database

if TYPE_CHECKING:
    from assistant.backend.auth import Principal

DB = web.AppKey("db", Database)
MAX_BODY_BYTES = web.AppKey("max_body_bytes", int)
# The clinics' time zone (``Settings.timezone``): a specialist's "day", and the times the hub's notices say.
TIMEZONE = web.AppKey("timezone", str)
# The follow-up tasks' clock: the same time zone, and the drills' offset (``Settings.clock_offset_days``).
CLOCK = web.AppKey("clock", Clock)
# Token hash -> principal, so a burst of requests does not look each token up.
PRINCIPALS: web.AppKey[TTLCache[Principal]] = web.AppKey("principals")
# (slug, language) -> the rendered checklist JSON.
CHECKLISTS: web.AppKey[TTLCache[bytes]] = web.AppKey("checklists")
