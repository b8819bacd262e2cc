"""The conversation list: filtered, keyset-paginated queries on Rasa's ``events`` table.

Every filter is an ``EXISTS`` probe into one conversation's id range, which
the indexes from :mod:`assistant.console.tracker` answer directly, and pages
are cut by (start time, id) so page 2,000 costs what page 1 does. Filters on
saved records ("saved an encounter") need the backend's records, which live
in another database: their (worker, time) pairs go into a temporary table on
the tracker connection for the duration of one query, so the whole filter is
still one SQL statement (counted up to COUNT_CAP like any other).
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import Column, Float, MetaData, String, Table, and_, case, exists, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.console.signals import FALLBACK_ACTIONS, FALLBACK_INTENTS, is_low, low_confidence_checks
from assistant.console.tracker import (
    ACTION,
    NO_END,
    SESSION_START_ACTION,
    SESSION_STARTED,
    USER,
    channel_of,
    events,
    in_session,
    next_session_start,
)

PAGE_SIZE = 50
# Counting stops here: past it the page says "more than 1,000". An exact count of a
# common filter over 100,000 conversations would cost more than the page itself.
COUNT_CAP = 1_000
FAR_FUTURE = 1e15

record_times = Table(
    "console_record_times",
    MetaData(),
    Column("kind", String(16)),
    Column("sender_id", String(255)),
    Column("ts", Float),
)


@dataclass(frozen=True)
class Filters:
    worker: str | None = None
    facility: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None  # inclusive
    channel: str | None = None
    intent: str | None = None
    fallback: bool = False
    encounter: bool = False
    consult: bool = False

    def as_query(self) -> dict[str, str]:
        """The filters as URL parameters, for pagination and export links."""
        out: dict[str, str] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is True:
                out[item.name] = "1"
            elif value not in (None, False, ""):
                out[item.name] = value.isoformat() if isinstance(value, dt.date) else str(value)
        return out

    @property
    def record_kinds(self) -> list[str]:
        return [kind for kind in ("encounter", "consult") if getattr(self, kind)]


@dataclass(frozen=True)
class Cursor:
    timestamp: float
    id: int

    def __str__(self) -> str:
        return f"{self.timestamp!r}_{self.id}"

    @classmethod
    def parse(cls, raw: str) -> Cursor:
        timestamp, _, identifier = raw.partition("_")
        return cls(float(timestamp), int(identifier))


@dataclass
class Summary:
    id: int
    sender_id: str
    started_at: float
    end_id: int | None
    end_ts: float | None
    last_at: float = 0.0
    turns: int = 0
    channels: list[str] = field(default_factory=list)
    intents: list[str] = field(default_factory=list)
    fallbacks: int = 0
    low_confidence: int = 0

    def contains(self, sender_id: str, moment: float) -> bool:
        return sender_id == self.sender_id and self.started_at <= moment < (self.end_ts or FAR_FUTURE)


@dataclass
class Page:
    rows: list[Summary]
    older: Cursor | None
    newer: Cursor | None
    total: int
    total_capped: bool


def _has(session_table: Any, end_id: Any, *conditions: Any) -> Any:
    event = events.alias("e")
    return exists(select(event.c.id).where(in_session(event, session_table, end_id), *[c(event) for c in conditions]))


def _conditions(
    s: Any,
    senders: Sequence[str] | None,
    filters: Filters,
    since: float | None,
    until: float | None,
    threshold: float,
) -> list[Any]:
    end_id = next_session_start(s, "id")
    where: list[Any] = [s.c.type_name == SESSION_STARTED]
    if senders is not None:
        where.append(s.c.sender_id.in_(list(senders)))
    if since is not None:
        where.append(s.c.timestamp >= since)
    if until is not None:
        where.append(s.c.timestamp < until)
    if filters.intent:
        where.append(_has(s, end_id, lambda e: e.c.intent_name == filters.intent))
    if filters.channel:
        where.append(_has(s, end_id, lambda e: channel_of(e) == filters.channel))
    if filters.fallback:
        where.append(
            or_(
                _has(s, end_id, lambda e: e.c.intent_name.in_(FALLBACK_INTENTS)),
                _has(s, end_id, lambda e: e.c.action_name.in_(FALLBACK_ACTIONS)),
                *[_has(s, end_id, lambda e, n=n: low_confidence_checks(e, threshold)[n]) for n in range(2)],
            )
        )
    for kind in filters.record_kinds:
        end_ts = next_session_start(s, "timestamp")
        where.append(
            exists(
                select(record_times.c.ts).where(
                    record_times.c.kind == kind,
                    record_times.c.sender_id == s.c.sender_id,
                    record_times.c.ts >= s.c.timestamp,
                    record_times.c.ts < func.coalesce(end_ts, FAR_FUTURE),
                )
            )
        )
    return where


# The pairs travel as one JSON parameter that the database unpacks itself: one
# statement instead of tens of thousands of inserts.
_UNPACK = {
    "sqlite": "INSERT INTO console_record_times (kind, sender_id, ts) SELECT json_extract(value, '$.k'), "
    "json_extract(value, '$.s'), json_extract(value, '$.t') FROM json_each(:pairs)",
    "postgresql": "INSERT INTO console_record_times (kind, sender_id, ts) SELECT k, s, t "
    "FROM json_to_recordset(CAST(:pairs AS json)) AS r(k text, s text, t float8)",
}


async def _load_record_times(session: AsyncSession, times: Mapping[str, Iterable[tuple[str, float]]]) -> None:
    """The backend's (worker, time) pairs, into a temporary table on this connection only."""
    await session.execute(
        text(
            "CREATE TEMPORARY TABLE IF NOT EXISTS console_record_times (kind VARCHAR(16), sender_id "
            "VARCHAR(255), ts FLOAT)"
        )
    )
    await session.execute(
        text("CREATE INDEX IF NOT EXISTS console_record_times_ix ON console_record_times (sender_id, kind, ts)")
    )
    await session.execute(record_times.delete())
    pairs = [{"k": kind, "s": sender, "t": moment} for kind, found in times.items() for sender, moment in found]
    if pairs:
        dialect = (await session.connection()).dialect.name
        await session.execute(text(_UNPACK[dialect]), {"pairs": json.dumps(pairs)})


async def list_page(
    session: AsyncSession,
    senders: Sequence[str] | None,
    filters: Filters,
    *,
    since: float | None,
    until: float | None,
    threshold: float,
    record_pairs: Mapping[str, Iterable[tuple[str, float]]],
    older_than: Cursor | None = None,
    newer_than: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    """One page of conversations, newest first, with their per-conversation summaries."""
    if filters.record_kinds:
        await _load_record_times(session, record_pairs)
    s = events.alias("s")
    where = _conditions(s, senders, filters, since, until, threshold)

    total = (
        await session.execute(
            select(func.count()).select_from(select(s.c.id).where(*where).limit(COUNT_CAP + 1).subquery())
        )
    ).scalar_one()

    query = select(
        s.c.id, s.c.sender_id, s.c.timestamp, next_session_start(s, "id"), next_session_start(s, "timestamp")
    ).where(*where)
    if newer_than is not None:
        query = query.where(
            or_(
                s.c.timestamp > newer_than.timestamp,
                and_(s.c.timestamp == newer_than.timestamp, s.c.id > newer_than.id),
            )
        ).order_by(s.c.timestamp, s.c.id)
    else:
        if older_than is not None:
            query = query.where(
                or_(
                    s.c.timestamp < older_than.timestamp,
                    and_(s.c.timestamp == older_than.timestamp, s.c.id < older_than.id),
                )
            )
        query = query.order_by(s.c.timestamp.desc(), s.c.id.desc())
    found = (await session.execute(query.limit(limit + 1))).all()
    more = len(found) > limit
    found = found[:limit]
    if newer_than is not None:
        found.reverse()
    rows = [Summary(row[0], row[1], row[2], row[3], row[4]) for row in found]
    await summarise(session, rows, threshold)

    if newer_than is not None:
        newer = Cursor(rows[0].started_at, rows[0].id) if rows and more else None
        older = Cursor(rows[-1].started_at, rows[-1].id) if rows else None
    else:
        newer = Cursor(rows[0].started_at, rows[0].id) if rows and older_than is not None else None
        older = Cursor(rows[-1].started_at, rows[-1].id) if rows and more else None
    return Page(rows, older, newer, min(total, COUNT_CAP), total > COUNT_CAP)


async def summarise(session: AsyncSession, rows: Sequence[Summary], threshold: float) -> None:
    """Turns, channels, intents and fallbacks of each listed conversation, in one query."""
    if not rows:
        return
    e = events
    ranges = [and_(e.c.sender_id == row.sender_id, e.c.id > row.id, e.c.id < (row.end_id or NO_END)) for row in rows]
    result = await session.execute(
        select(
            e.c.sender_id,
            e.c.id,
            e.c.type_name,
            e.c.timestamp,
            e.c.intent_name,
            e.c.action_name,
            case((e.c.type_name == USER, e.c.data), else_=None),
        )
        # Only the id ranges: a type test here lets SQLite walk the type index instead.
        .where(or_(*ranges))
        .order_by(e.c.id)
    )
    by_sender: dict[str, list[Summary]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: r.id):
        by_sender[row.sender_id].append(row)
    starts = {sender: [row.id for row in owned] for sender, owned in by_sender.items()}
    for sender_id, event_id, type_name, timestamp, intent, action, data in result:
        owned = by_sender[sender_id]
        row = owned[bisect.bisect_left(starts[sender_id], event_id) - 1]
        if action == SESSION_START_ACTION:
            continue  # the next conversation's opening, written just before it
        row.last_at = max(row.last_at, timestamp or 0.0)
        if type_name == ACTION:
            row.fallbacks += action in FALLBACK_ACTIONS
        elif type_name == USER:
            row.turns += 1
            parsed = json.loads(data) if data else {}
            metadata = parsed.get("metadata") or {}
            channel = metadata.get("channel") or parsed.get("input_channel")
            if channel and channel not in row.channels:
                row.channels.append(channel)
            if intent and intent not in row.intents:
                row.intents.append(intent)
            row.fallbacks += intent in FALLBACK_INTENTS
            confidence = (parsed.get("parse_data") or {}).get("intent", {}).get("confidence")
            row.low_confidence += is_low(confidence, threshold) or is_low(metadata.get("asr_confidence"), threshold)
    for row in rows:
        row.last_at = row.last_at or row.started_at


def assign_records(rows: Sequence[Summary], records: Iterable[Any]) -> dict[int, list[Any]]:
    """Each consult or encounter goes to the conversation of its worker that was open when it was saved."""
    assigned: dict[int, list[Any]] = defaultdict(list)
    for record in records:
        moment = record.created_at.timestamp()
        for row in rows:
            if row.contains(record.conversation_id, moment):
                assigned[row.id].append(record)
                break
    return assigned
