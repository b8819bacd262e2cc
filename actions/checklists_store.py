"""Checklists from the backend, kept on the phone for when the hub is unreachable.

Checklists change rarely and are needed most where the network is worst, so
a checklist once read is stored locally: fresh copies (younger than
``FRESH_SECONDS``) are used without asking the hub, older ones are refreshed
when the hub answers and used as they are when it does not.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.engine import Engine

from assistant.db.device import checklist_cache_table as cache
from assistant.http.backend_client import BackendClient, BackendUnavailable

FRESH_SECONDS = 3600.0
INDEX_KEY = "index"


class ChecklistUnavailable(Exception):
    """The hub is unreachable and no copy is stored on the phone."""


class ChecklistStore:
    def __init__(self, engine: Engine, backend: BackendClient) -> None:
        self._engine = engine
        self._backend = backend

    async def checklist(self, worker_id: str, slug: str, language: str) -> dict[str, Any]:
        """``{"slug", "title", "source", "steps": [{"number", "text", "caution"}]}``.

        Raises ``BackendRejected`` for an unknown procedure and
        ``ChecklistUnavailable`` when neither the hub nor the phone has it.
        """
        return await self._cached(f"{slug}:{language}", lambda: self._backend.checklist(worker_id, slug, language))

    async def index(self, worker_id: str) -> list[dict[str, Any]]:
        """Every checklist's slug and titles (``title``, ``title_hi``)."""
        body = await self._cached(INDEX_KEY, lambda: self._wrap_index(worker_id))
        return body["items"]

    async def _wrap_index(self, worker_id: str) -> dict[str, Any]:
        return {"items": await self._backend.checklists(worker_id)}

    async def _cached(self, key: str, fetch: Any) -> dict[str, Any]:
        stored = await asyncio.to_thread(self._load, key)
        if stored is not None and time.time() - stored[1] < FRESH_SECONDS:
            return stored[0]
        try:
            body = await fetch()
        except BackendUnavailable:
            if stored is not None:
                return stored[0]
            raise ChecklistUnavailable(key) from None
        await asyncio.to_thread(self._store, key, body)
        return body

    def _load(self, key: str) -> tuple[dict[str, Any], float] | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(cache.c.body, cache.c.fetched_at).where(cache.c.key == key)).first()
        return (json.loads(row.body), row.fetched_at) if row else None

    def _store(self, key: str, body: dict[str, Any]) -> None:
        statement = insert(cache).values(key=key, body=json.dumps(body, ensure_ascii=False), fetched_at=time.time())
        statement = statement.on_conflict_do_update(
            index_elements=[cache.c.key],
            set_={"body": statement.excluded.body, "fetched_at": statement.excluded.fetched_at},
        )
        with self._engine.begin() as connection:
            connection.execute(statement)
