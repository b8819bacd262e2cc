"""Who is speaking, through which channel, in which language, and in which turn.

The conversation's sender id is the worker id (docs/contracts.md). The
idempotency key of a write is derived from the conversation, its session and
the position of the user turn among the turns that stand, so running the same
action again for the same turn (a retry, a crash and restart, the outbox
re-sending) can never create a second record. A turn the Rasa process rewound
because an action could not run (``assistant.rasa_server.action_failures``)
does not stand: the worker saying it again is the same turn, with the same key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from rasa_sdk import Tracker

from assistant.core.vocabulary import CHANNELS, LANGUAGES

DEFAULT_CHANNEL = "rest"
_SESSION_STARTS = ("session_started",)
# Rasa input channel names that are not ours.
_INPUT_CHANNELS = {"socketio": "web", "rest": "rest", "callback": "rest", "cmdline": "rest"}


@dataclass(frozen=True)
class Turn:
    worker_id: str
    channel: str
    language: str
    session_started: float  # when the conversation's current session began (0: no session event)
    user_turn: int  # this turn's position in the session, counting only turns that stand

    @property
    def conversation_id(self) -> str:
        return self.worker_id

    def idempotency_key(self, purpose: str) -> str:
        """Stable for this conversation, this user turn and this purpose (e.g. "consult")."""
        source = f"{self.conversation_id}|{self.session_started!r}|{self.user_turn}|{purpose}"
        return f"{purpose}-{hashlib.sha256(source.encode()).hexdigest()[:40]}"

    @classmethod
    def of(cls, tracker: Tracker) -> Turn:
        session_started, user_turn = 0.0, 0
        for event in tracker.applied_events():
            if event.get("event") in _SESSION_STARTS:
                session_started, user_turn = float(event.get("timestamp") or 0.0), 0
            elif event.get("event") == "user":
                user_turn += 1
        restarted = [float(e.get("timestamp") or 0.0) for e in tracker.events if e.get("event") == "restart"]
        if restarted and restarted[-1] > session_started:  # applied events start after a restart
            session_started = restarted[-1]
        return cls(
            worker_id=tracker.sender_id,
            channel=channel_of(tracker),
            language=language_of(tracker),
            session_started=session_started,
            user_turn=user_turn,
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
