"""One conversation, read from Rasa's events and grouped into turns.

A turn starts with a user message and collects what followed it: slot
changes, actions, form activity and the bot's replies. Events before the
first message (the session start and slots carried over) form turn 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.console.signals import FALLBACK_ACTIONS, FALLBACK_INTENTS, is_low
from assistant.console.tracker import (
    ACTION,
    BOT,
    NO_END,
    SESSION_START_ACTION,
    SESSION_STARTED,
    USER,
    events,
    next_session_start,
)

# Rasa runs these after every bot turn and at every session start: noise in a transcript.
QUIET_ACTIONS = frozenset({"action_listen", SESSION_START_ACTION})


@dataclass
class Entity:
    entity: str
    value: Any
    extractor: str | None = None
    confidence: float | None = None
    start: int | None = None
    end: int | None = None


@dataclass
class Turn:
    number: int
    event_id: int | None = None
    timestamp: float | None = None
    text: str | None = None
    channel: str | None = None
    language: str | None = None
    input_mode: str | None = None
    asr_confidence: float | None = None
    intent: str | None = None
    intent_confidence: float | None = None
    entities: list[Entity] = field(default_factory=list)
    slots: list[tuple[str, Any]] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)

    @property
    def fallback(self) -> bool:
        return self.intent in FALLBACK_INTENTS or any(action in FALLBACK_ACTIONS for action in self.actions)

    def low_confidence(self, threshold: float) -> bool:
        return is_low(self.intent_confidence, threshold) or is_low(self.asr_confidence, threshold)


@dataclass
class Conversation:
    id: int
    sender_id: str
    started_at: float
    end_id: int | None
    end_ts: float | None
    turns: list[Turn]

    @property
    def ended_at(self) -> float:
        stamps = [turn.timestamp for turn in self.turns if turn.timestamp]
        return max(stamps, default=self.started_at)

    def turn_for_event(self, event_id: int) -> Turn | None:
        return next((turn for turn in self.turns if turn.event_id == event_id), None)


def _user_turn(number: int, event_id: int, data: dict[str, Any]) -> Turn:
    parse = data.get("parse_data") or {}
    intent = parse.get("intent") or {}
    metadata = data.get("metadata") or {}
    return Turn(
        number=number,
        event_id=event_id,
        timestamp=data.get("timestamp"),
        text=data.get("text"),
        channel=metadata.get("channel") or data.get("input_channel"),
        language=metadata.get("language"),
        input_mode=metadata.get("input_mode"),
        asr_confidence=metadata.get("asr_confidence"),
        intent=intent.get("name"),
        intent_confidence=intent.get("confidence"),
        entities=[
            Entity(
                entity=item.get("entity", "?"),
                value=item.get("value"),
                extractor=item.get("extractor"),
                confidence=item.get("confidence_entity"),
                start=item.get("start"),
                end=item.get("end"),
            )
            for item in parse.get("entities") or []
        ],
    )


def _set_slot(turn: Turn, name: str, value: Any) -> None:
    """A turn shows each slot's final value once (forms often set the same slot twice)."""
    turn.slots = [(existing, old) for existing, old in turn.slots if existing != name] + [(name, value)]


def build_turns(rows: list[tuple[int, str, dict[str, Any]]]) -> list[Turn]:
    turns = [Turn(number=0)]
    for event_id, type_name, data in rows:
        current = turns[-1]
        if type_name == USER:
            turns.append(_user_turn(len(turns), event_id, data))
        elif type_name == BOT:
            if data.get("text"):
                current.replies.append(data["text"])
        elif type_name == ACTION:
            if data.get("name") not in QUIET_ACTIONS:
                current.actions.append(data.get("name", "?"))
        elif type_name == "slot":
            _set_slot(current, data.get("name", "?"), data.get("value"))
        elif type_name == "active_loop":
            name = data.get("name")
            current.actions.append(f"form {name} started" if name else "form ended")
        if current.timestamp is None and data.get("timestamp"):
            current.timestamp = data["timestamp"]
    return turns


async def load(session: AsyncSession, conversation_id: int) -> Conversation | None:
    s = events.alias("s")
    head = (
        await session.execute(
            select(
                s.c.id, s.c.sender_id, s.c.timestamp, next_session_start(s, "id"), next_session_start(s, "timestamp")
            ).where(s.c.id == conversation_id, s.c.type_name == SESSION_STARTED)
        )
    ).first()
    if head is None:
        return None
    identifier, sender_id, started_at, end_id, end_ts = head
    rows = await session.execute(
        select(events.c.id, events.c.type_name, events.c.data)
        .where(events.c.sender_id == sender_id, events.c.id >= identifier, events.c.id < (end_id or NO_END))
        .order_by(events.c.id)
    )
    parsed = [(event_id, type_name, json.loads(data) if data else {}) for event_id, type_name, data in rows]
    return Conversation(identifier, sender_id, started_at, end_id, end_ts, build_turns(parsed))


async def sender_of(session: AsyncSession, conversation_id: int) -> str | None:
    """The worker a conversation belongs to, so scope is checked before anything is read."""
    return (
        await session.execute(
            select(events.c.sender_id).where(events.c.id == conversation_id, events.c.type_name == SESSION_STARTED)
        )
    ).scalar_one_or_none()
