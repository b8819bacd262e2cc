"""Queue depths, read from the databases: for ``/metrics`` and for ``assistant status``.

Each figure is one counting query over one database. The services read them
when Prometheus asks, and ``assistant status`` reads them whether the stack
runs or not, so nothing here needs a service: a SQLite file is opened
read-only (never created, its schema never touched), and a database that is
not there or cannot be read gives ``None`` (unknown), which the callers tell
apart from zero.

Counts only: no worker, patient or number leaves these functions.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from assistant.db.channel_tables import REPLY_DEAD, UndeliveredReply
from assistant.db.device import FILENAME as OUTBOX_FILENAME
from assistant.db.device import outbox_table
from assistant.db.models import Consult, HubNotice

log = logging.getLogger(__name__)

T = TypeVar("T")
WAITING_STATES = ("pending", "sending")  # actions/outbox.py: still to reach the hub

PENDING_NOTICES = select(func.count()).select_from(HubNotice).where(HubNotice.delivered_at.is_(None))
HUB_QUEUE = select(func.count()).select_from(Consult).where(Consult.status == "requested", Consult.hub_queue.is_(True))
OUTBOX_BY_STATE = select(outbox_table.c.status, func.count()).group_by(outbox_table.c.status)
OLDEST_WAITING = select(func.min(outbox_table.c.created_at)).where(outbox_table.c.status.in_(WAITING_STATES))
DEAD_LETTERS_BY_CHANNEL = (
    select(UndeliveredReply.channel, func.count())
    .where(UndeliveredReply.status == REPLY_DEAD)
    .group_by(UndeliveredReply.channel)
)


def read_only_engine(url: str) -> Engine | None:
    """An engine that cannot create or change the database; ``None`` for a SQLite file not there."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if not path or path == ":memory:" or not Path(path).is_file():
            return None
        return create_engine(f"sqlite:///file:{quote(path)}?mode=ro&uri=true", future=True, poolclass=NullPool)
    return create_engine(url, future=True, poolclass=NullPool, connect_args={"connect_timeout": 5})


def _read(url: str, query: Callable[[Connection], T]) -> T | None:
    engine = read_only_engine(url)
    if engine is None:
        return None
    try:
        with engine.connect() as connection:
            return query(connection)
    except SQLAlchemyError as exc:  # not reachable, or a table its service has not made yet
        log.debug("cannot read figures from the %s database: %s", engine.dialect.name, type(exc).__name__)
        return None
    finally:
        engine.dispose()


def count(url: str, statement: Any) -> int | None:
    return _read(url, lambda connection: int(connection.execute(statement).scalar_one()))


def outbox_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / OUTBOX_FILENAME}"


def by_label(url: str, statement: Any) -> dict[str, int] | None:
    def rows(connection: Connection) -> dict[str, int]:
        return {str(label): int(number) for label, number in connection.execute(statement)}

    return _read(url, rows)


def outbox_states(data_dir: Path) -> dict[str, int] | None:
    return by_label(outbox_url(data_dir), OUTBOX_BY_STATE)


def oldest_waiting_record(data_dir: Path) -> dt.datetime | None:
    """When the oldest record still waiting for the hub was queued (naive UTC), if any waits."""
    return _read(outbox_url(data_dir), lambda connection: connection.execute(OLDEST_WAITING).scalar_one())


def dead_letters(channels_url: str) -> dict[str, int] | None:
    return by_label(channels_url, DEAD_LETTERS_BY_CHANNEL)
