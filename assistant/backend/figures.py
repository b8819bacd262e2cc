"""The backend's scrape-time figures for ``/metrics``: its queues, and the data directory's backups and files.

The backup age and the database sizes are the machine's, not a service's;
the backend shows them because it always runs where the data is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from prometheus_client.core import Metric

from assistant.core import metrics
from assistant.core.backup_age import last_backup_age
from assistant.core.config import Settings
from assistant.core.data_dir_figures import database_sizes
from assistant.db.engine import Database
from assistant.db.figures import HUB_QUEUE, PENDING_NOTICES


def backend_readings(db: Database, settings: Settings | None) -> metrics.Readings:
    async def read() -> Iterable[Metric]:
        async with db.read() as session:
            pending = int((await session.execute(PENDING_NOTICES)).scalar_one())
            queued = int((await session.execute(HUB_QUEUE)).scalar_one())
        families = [metrics.pending_notices(pending), metrics.hub_queue(queued)]
        if settings is not None:
            age, sizes = await asyncio.to_thread(lambda: (last_backup_age(settings), database_sizes(settings.data_dir)))
            families += [metrics.backup_age(age), metrics.database_sizes(sizes)]
        return families

    return read
