"""Who is speaking, through which channel, in which language, and in which turn.

The conversation's sender id is the worker id (docs/contracts.md). The
idempotency key of a write is derived from the conversation and the user
turn, so running the same action again for the same turn (a retry, a crash
and restart, the outbox re-sending) can never create a second record.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Optional

from rasa_sdk import Tracker

from assistant.vocabulary import CHANNELS, LANGUAGES

DEFAULT_CHANNEL = "rest"
# Rasa input channel names that are not ours.
_INPUT_CHANNELS = {"socketio": "web", "rest": "rest", "callback": "rest", "cmdline": "rest"}


@dataclass(frozen=True)
class Turn:
    worker_id: str
    channel: str
    language: str
    message_id: Optional[str]
    user_turn: int

    @property
    def conversation_id(self) -> str:
        return self.worker_id

    def idempotency_key(self, purpose: str) -> str:
        """Stable for this conversation, this user turn and this purpose (e.g. "consult")."""
        source = f"{self.conversation_id}|{self.user_turn}|{self.message_id or ''}|{purpose}"
        return f"{purpose}-{hashlib.sha256(source.encode()).hexdigest()[:40]}"

    @classmethod
    def of(cls, tracker: Tracker) -> "Turn":
        latest: dict[str, Any] = tracker.latest_message or {}
        return cls(
            worker_id=tracker.sender_id,
            channel=channel_of(tracker),
            language=language_of(tracker),
            message_id=latest.get("message_id"),
            user_turn=sum(1 for event in tracker.events if event.get("event") == "user"),
        )


def language_of(tracker: Tracker) -> str:
    language = tracker.get_slot("language")
    return language if language in LANGUAGES else "en"


def channel_of(tracker: Tracker) -> str:
    """The channel that heard the worker: message metadata first, then Rasa's input channel."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    channel = metadata.get("channel")
    if channel in CHANNELS:
        return channel
    input_channel = _INPUT_CHANNELS.get(tracker.get_latest_input_channel() or "")
    return input_channel if input_channel in CHANNELS else DEFAULT_CHANNEL
