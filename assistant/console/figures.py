"""The console's scrape-time figure for ``/metrics``: dead letters, which its Deliveries page lists."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from prometheus_client.core import Metric

from assistant.core import metrics
from assistant.core.config import Settings
from assistant.db.figures import dead_letters


def console_readings(settings: Settings) -> metrics.Readings:
    async def read() -> Iterable[Metric]:
        counts = await asyncio.to_thread(dead_letters, settings.channels_database_url)
        return [metrics.dead_letters(counts or {})]

    return read
