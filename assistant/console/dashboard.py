"""Dashboard figures: conversations per day, fallback rate, consults and encounters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.console.signals import is_fallback_event
from assistant.console.tracker import SESSION_STARTED, USER, day_number, events
from assistant.db.engine import Database
from assistant.db.models import Consult, Encounter, Worker


@dataclass
class Figures:
    days: list[dt.date]
    conversations: dict[dt.date, int]
    user_turns: dict[dt.date, int]
    fallbacks: dict[dt.date, int]
    consults_by_status: dict[str, int]
    consults_by_specialty: dict[str, int]
    encounters_by_worker: list[tuple[str, str, int]]  # id, name, count

    @property
    def fallback_rate(self) -> float | None:
        turns = sum(self.user_turns.values())
        return None if not turns else sum(self.fallbacks.values()) / turns

    def daily_fallback_rate(self, day: dt.date) -> float:
        turns = self.user_turns.get(day, 0)
        return 0.0 if not turns else self.fallbacks.get(day, 0) / turns


def _window(days: int, zone: str) -> tuple[list[dt.date], float, int]:
    tz = ZoneInfo(zone)
    today = dt.datetime.now(tz).date()
    first = today - dt.timedelta(days=days - 1)
    since = dt.datetime.combine(first, dt.time(), tz)
    offset = int((since.utcoffset() or dt.timedelta()).total_seconds())
    return [first + dt.timedelta(days=n) for n in range(days)], since.timestamp(), offset


async def _per_day(
    session: AsyncSession, condition: Any, since: float, offset: int, senders: Sequence[str] | None
) -> dict[dt.date, int]:
    # The offset is written into the SQL: PostgreSQL only groups by an expression it sees twice verbatim.
    day = day_number(events.c.timestamp, literal_column(str(int(offset))))
    query = select(day, func.count()).where(condition, events.c.timestamp >= since).group_by(day)
    if senders is not None:
        query = query.where(events.c.sender_id.in_(list(senders)))
    rows = (await session.execute(query)).all()
    epoch = dt.date(1970, 1, 1)
    return {epoch + dt.timedelta(days=int(number)): count for number, count in rows}


async def figures(
    tracker: Database,
    backend: Database,
    *,
    days: int,
    zone: str,
    senders: Sequence[str] | None,
    facilities: frozenset[str] | None,
) -> Figures:
    day_list, since, offset = _window(days, zone)
    async with tracker.read() as session:
        conversations = await _per_day(session, events.c.type_name == SESSION_STARTED, since, offset, senders)
        user_turns = await _per_day(session, events.c.type_name == USER, since, offset, senders)
        fallbacks = await _per_day(session, is_fallback_event(events), since, offset, senders)

    since_dt = dt.datetime.fromtimestamp(since, dt.timezone.utc)
    async with backend.read() as session:

        def scoped(model: Any, *conditions: Any) -> Any:
            where = [model.created_at >= since_dt, *conditions]
            if facilities is not None:
                where.append(model.facility_id.in_(list(facilities)))
            return and_(*where)

        by_status = dict(
            (
                await session.execute(
                    select(Consult.status, func.count()).where(scoped(Consult)).group_by(Consult.status)
                )
            ).all()
        )
        by_specialty = dict(
            (
                await session.execute(
                    select(Consult.specialty, func.count()).where(scoped(Consult)).group_by(Consult.specialty)
                )
            ).all()
        )
        per_worker = (
            await session.execute(
                select(Encounter.worker_id, Worker.name, func.count())
                .join(Worker, Worker.id == Encounter.worker_id)
                .where(scoped(Encounter))
                .group_by(Encounter.worker_id, Worker.name)
                .order_by(func.count().desc())
            )
        ).all()
    return Figures(
        day_list, conversations, user_turns, fallbacks, by_status, by_specialty, [tuple(row) for row in per_worker]
    )
