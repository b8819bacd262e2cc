"""Deleting old rows a batch at a time, so a purge never holds the (SQLite) writer for long.

Each batch is its own short write transaction; between batches other writers
take their turn (``Database.write`` queues them first come, first served).
Rows are taken in id order: old rows have the smallest ids, so each batch
stops after ``batch`` matches at the start of the table and needs no index
on the time column.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.sql.elements import ColumnElement

from assistant.db.engine import Database

BATCH = 500


async def delete_in_batches(db: Database, model: Any, condition: ColumnElement[bool], *, batch: int = BATCH) -> int:
    """Delete ``model``'s rows matching ``condition`` (``model`` has an integer ``id``); returns how many."""
    total = 0
    while True:
        doomed = select(model.id).where(condition).order_by(model.id).limit(batch).scalar_subquery()
        async with db.write() as session:
            statement = delete(model).where(model.id.in_(doomed)).execution_options(synchronize_session=False)
            deleted = (await session.execute(statement)).rowcount or 0
        total += deleted
        if deleted < batch:
            return total
        await asyncio.sleep(0)  # let a waiting writer in before the next batch
