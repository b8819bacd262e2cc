"""What never arrived: records the hub rejected, and WhatsApp and Twilio replies that became dead letters.

- Rejected records come from the action server's offline outbox
  (``<data_dir>/actions.db``, rows with status ``rejected``). The console opens
  that file read-only: it never creates it or its schema, and a file or table
  not there (yet) is an empty list.
- Dead letters come from the channel state (``Settings.channels_database_url``),
  those of the Cloud API and of Twilio's Messages API (hub notices pushed
  through Twilio) alike, each naming its app. They hold the worker id, the
  error code, the attempts and the times; never a number or the reply's text.

Only rows of workers the viewer may see (``None``: an admin, everyone),
newest first, at most ``LIMIT`` of each.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.pool import NullPool

from assistant.db.channel_tables import REPLY_DEAD, UndeliveredReply
from assistant.db.device import FILENAME, outbox_table
from assistant.db.engine import Database, is_sqlite
from assistant.db.engine_options import sync_engine

LIMIT = 200
REJECTED = "rejected"  # the outbox's status for a record the hub refused for good
# The channel state's names for the apps' replies, and what the page calls them.
APPS = {"whatsapp": "WhatsApp", "twilio": "Twilio"}


@dataclass(frozen=True)
class RejectedRecord:
    worker_id: str
    kind: str  # consult | encounter
    patient_ref: str
    error: str
    attempts: int
    created_at: dt.datetime
    rejected_at: dt.datetime


@dataclass(frozen=True)
class DeadLetter:
    app: str  # "WhatsApp" (the Cloud API) or "Twilio"
    worker_id: str | None  # None: the reply was for a sender no worker is registered for
    error: str
    attempts: int
    created_at: dt.datetime
    dead_at: dt.datetime | None


def _utc(moment: dt.datetime) -> dt.datetime:
    # The outbox stores naive UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _patient_ref(payload: str) -> str:
    try:
        body = json.loads(payload)
    except ValueError:
        return ""
    return str(body.get("patient_ref") or "") if isinstance(body, dict) else ""


def _read_rejected(path: Path, workers: Collection[str] | None, limit: int) -> list[RejectedRecord]:
    engine = sync_engine(f"sqlite:///file:{quote(str(path))}?mode=ro&uri=true", poolclass=NullPool)
    outbox = outbox_table.c
    query = (
        select(
            outbox.worker_id,
            outbox.kind,
            outbox.payload,
            outbox.last_error,
            outbox.attempts,
            outbox.created_at,
            outbox.updated_at,
        )
        .where(outbox.status == REJECTED)
        .order_by(outbox.updated_at.desc(), outbox.id.desc())
        .limit(limit)
    )
    if workers is not None:
        query = query.where(outbox.worker_id.in_(list(workers)))
    try:
        with engine.connect() as connection:
            rows = connection.execute(query).all()
    except OperationalError:
        return []  # no outbox table yet (the action server has not run here)
    finally:
        engine.dispose()
    return [
        RejectedRecord(
            row.worker_id,
            row.kind,
            _patient_ref(row.payload),
            row.last_error or "",
            row.attempts or 0,
            _utc(row.created_at),
            _utc(row.updated_at),
        )
        for row in rows
    ]


async def rejected_records(data_dir: Path, workers: Collection[str] | None, limit: int = LIMIT) -> list[RejectedRecord]:
    path = data_dir / FILENAME
    if not path.is_file():
        return []
    return await asyncio.to_thread(_read_rejected, path, workers, limit)


def _absent(url: str) -> bool:
    """A SQLite channel state no channel has written yet: reading must not create it."""
    if not is_sqlite(url):
        return False
    database = make_url(url).database
    return not database or database == ":memory:" or not Path(database).is_file()


async def dead_letters(url: str, workers: Collection[str] | None, limit: int = LIMIT) -> list[DeadLetter]:
    """Opened for the one query: the page is seldom visited, and the console keeps no hold on the channels' file."""
    if _absent(url):
        return []
    reply = UndeliveredReply
    query = (
        select(reply.channel, reply.worker_id, reply.last_error, reply.attempts, reply.created_at, reply.dead_at)
        .where(reply.channel.in_(list(APPS)), reply.status == REPLY_DEAD)
        .order_by(reply.id.desc())
        .limit(limit)
    )
    if workers is not None:
        query = query.where(reply.worker_id.in_(list(workers)))
    channels = Database.connect(url)
    try:
        async with channels.read() as session:
            rows = (await session.execute(query)).all()
    except (OperationalError, ProgrammingError):
        return []  # no table, or one from before dead letters: nothing to show yet
    finally:
        await channels.dispose()
    return [
        DeadLetter(APPS[row.channel], row.worker_id, row.last_error or "", row.attempts, row.created_at, row.dead_at)
        for row in rows
    ]
