"""A background job run now and then every so often, for as long as its service runs.

The backend, the console and the channels each tidy their databases this way
(expired records, ended sessions, dead letters). A failed run is logged and
the next one comes at its time: the loop must outlive a bad moment of the
database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

HOUR = 3600.0


async def every(
    interval_seconds: float, job: Callable[[], Awaitable[Any]], what: str, *, first_delay: float = 0.0
) -> None:
    """Run ``job`` after ``first_delay`` and then every ``interval_seconds``, until cancelled."""
    await asyncio.sleep(first_delay)
    while True:
        try:
            await job()
        except Exception:
            log.exception("%s failed; it runs again in %.0f s", what, interval_seconds)
        await asyncio.sleep(interval_seconds)
