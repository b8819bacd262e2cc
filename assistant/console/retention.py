"""Retention: delete transcripts older than N days from the tracker store, keep the audit log.

A conversation goes as a whole once its last event is older than the cut-off,
so no transcript is left half-deleted. Flags and reviews of purged
conversations go with them (a flag holds the turn's words); the audit log,
which names records by id only, stays.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select

from assistant.console.tracker import SESSION_START_ACTION, SESSION_STARTED, events, has_events_table
from assistant.db.console_tables import Flag, Review
from assistant.db.engine import Database

log = logging.getLogger(__name__)

DAY = 86400.0


@dataclass(frozen=True)
class PurgeResult:
    events: int
    senders: int
    flags: int
    reviews: int

    def __str__(self) -> str:
        return (
            f"purged {self.events} tracker events from {self.senders} worker(s); "
            f"removed {self.flags} flag(s) and {self.reviews} review(s); the audit log is kept"
        )


async def purge(tracker: Database, backend: Database, days: int, now: float | None = None) -> PurgeResult:
    if days < 1:
        raise ValueError("retention must be at least 1 day (0 means keep transcripts forever)")
    if not await has_events_table(tracker):
        return PurgeResult(0, 0, 0, 0)
    cutoff = (now or time.time()) - days * DAY
    deleted, senders = 0, 0
    not_session_opening = or_(events.c.action_name.is_(None), events.c.action_name != SESSION_START_ACTION)
    async with tracker.read() as session:
        everyone = (await session.execute(select(events.c.sender_id).distinct())).scalars().all()
        first_recent = dict(
            (
                await session.execute(
                    select(events.c.sender_id, func.min(events.c.id))
                    .where(events.c.timestamp >= cutoff, not_session_opening)
                    .group_by(events.c.sender_id)
                )
            ).all()
        )
    for sender in everyone:
        # One short transaction per worker, so Rasa's own writes never wait long.
        async with tracker.write() as session:
            recent = first_recent.get(sender)
            condition = events.c.sender_id == sender
            if recent is not None:
                # Keep the whole conversation the first recent event belongs to.
                keep_from = (
                    await session.execute(
                        select(func.max(events.c.id)).where(
                            events.c.sender_id == sender, events.c.type_name == SESSION_STARTED, events.c.id <= recent
                        )
                    )
                ).scalar_one() or recent
                condition = condition & (events.c.id < keep_from)
            count = (await session.execute(delete(events).where(condition))).rowcount or 0
        deleted += count
        senders += bool(count)
    async with backend.read() as session:
        flagged = (await session.execute(select(Flag.id, Flag.conversation_id))).all()
        reviewed = (await session.execute(select(Review.conversation_id))).scalars().all()
    referenced = {conversation for _, conversation in flagged} | set(reviewed)
    async with tracker.read() as session:
        surviving = (
            set(
                (
                    await session.execute(
                        select(events.c.id).where(events.c.id.in_(referenced), events.c.type_name == SESSION_STARTED)
                    )
                )
                .scalars()
                .all()
            )
            if referenced
            else set()
        )
    gone_flags = [flag_id for flag_id, conversation in flagged if conversation not in surviving]
    gone_reviews = [conversation for conversation in reviewed if conversation not in surviving]
    async with backend.write() as session:
        if gone_flags:
            await session.execute(delete(Flag).where(Flag.id.in_(gone_flags)))
        if gone_reviews:
            await session.execute(delete(Review).where(Review.conversation_id.in_(gone_reviews)))
    result = PurgeResult(deleted, senders, len(gone_flags), len(gone_reviews))
    log.info("retention (%d days): %s", days, result)
    return result
