"""Typed keys for what the console's handlers share through the application (aiohttp ``AppKey``)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from assistant.backend.app_state import DB
from assistant.backend.database import Database
from assistant.config import Settings

__all__ = ["DB", "SETTINGS", "STATE", "TRACKER"]

SETTINGS = web.AppKey("settings", Settings)
# Rasa's tracker store, read through the same database URL Rasa uses.
TRACKER = web.AppKey("tracker", Database)
# A plain dict: a running aiohttp app's own mapping is frozen.
STATE: web.AppKey[dict[str, Any]] = web.AppKey("state")
