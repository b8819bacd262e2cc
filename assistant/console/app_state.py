"""Typed keys for what the console's handlers share through the application (aiohttp ``AppKey``)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from assistant.core.config import Settings
from assistant.db.engine import Database

# The backend database, which also holds the console's own tables.
DB = web.AppKey("db", Database)
SETTINGS = web.AppKey("settings", Settings)
# Rasa's tracker store, read through the same database URL Rasa uses.
TRACKER = web.AppKey("tracker", Database)
# A plain dict: a running aiohttp app's own mapping is frozen.
STATE: web.AppKey[dict[str, Any]] = web.AppKey("state")
