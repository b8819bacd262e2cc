"""Real ``rasa_sdk.Tracker`` objects shaped the way ``rasa run`` sends them to the action server."""

from __future__ import annotations

import functools
import itertools
import time
import uuid
from collections.abc import Iterable
from typing import Any

import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from assistant.core.config import PROJECT_DIR


@functools.lru_cache(maxsize=1)
def domain() -> dict[str, Any]:
    """domain.yml as the action server receives it."""
    return yaml.safe_load((PROJECT_DIR / "domain.yml").read_text(encoding="utf-8"))


def entity(kind: str, value: Any, text: str = "", surface: str | None = None) -> dict[str, Any]:
    surface = surface if surface is not None else str(value)
    start = text.find(surface) if text else -1
    found = {"entity": kind, "value": value, "extractor": "DIETClassifier"}
    if start >= 0:
        found.update(start=start, end=start + len(surface))
    return found


def user_message(
    text: str,
    intent: str = "inform",
    entities: Iterable[dict[str, Any]] = (),
    metadata: dict[str, Any] | None = None,
    message_id: str | None = None,
) -> dict[str, Any]:
    return {
        "text": text,
        "intent": {"name": intent, "confidence": 0.98},
        "intent_ranking": [{"name": intent, "confidence": 0.98}],
        "entities": list(entities),
        "message_id": message_id or uuid.uuid4().hex,
        "metadata": metadata if metadata is not None else {"channel": "rest", "language": "en"},
    }


_sessions = itertools.count()


def new_session() -> float:
    """A session start no other conversation of the test run has (Rasa stamps it with the time)."""
    return time.time() + next(_sessions)


def tracker(
    message: dict[str, Any],
    slots: dict[str, Any] | None = None,
    sender: str = "W001",
    active_loop: str | None = None,
    history: Iterable[dict[str, Any]] = (),
    candidates: dict[str, Any] | None = None,
    session: float | None = None,
    latest_action: str = "action_listen",
) -> Tracker:
    """A conversation whose latest user turn is ``message``.

    It opens with a session start, as Rasa's do (``session``: its timestamp;
    a new one by default). ``history``: earlier events. ``candidates``: slot
    values Rasa's slot mappings found in this turn. As in Rasa, they are set
    right after the user message, and when a form validates them they follow
    the form's ``ActionExecuted`` again. ``latest_action``: what the rules ran
    before the form resumed (then there are no candidates to validate).
    """
    all_slots = {"language": "en", **(slots or {}), **(candidates or {})}
    started = new_session() if session is None else session
    events: list[dict[str, Any]] = [
        {"event": "action", "name": "action_session_start", "timestamp": started},
        {"event": "session_started", "timestamp": started},
        {"event": "action", "name": "action_listen", "timestamp": started},
        *history,
    ]
    events.append(
        {
            "event": "user",
            "text": message["text"],
            "parse_data": message,
            "input_channel": "rest",
            "metadata": message.get("metadata"),
            "message_id": message["message_id"],
        }
    )
    extracted = [{"event": "slot", "name": name, "value": value} for name, value in (candidates or {}).items()]
    events += extracted
    resuming = latest_action != "action_listen"
    if resuming:
        events.append({"event": "action", "name": latest_action})
    if active_loop:
        events.append({"event": "slot", "name": "requested_slot", "value": all_slots.get("requested_slot")})
        events.append({"event": "action", "name": active_loop})
        if not resuming:
            events += extracted
    return Tracker(
        sender_id=sender,
        slots=all_slots,
        latest_message=message,
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name=active_loop or latest_action,
    )


def said(dispatcher: CollectingDispatcher) -> list[str]:
    """The texts the worker hears (custom payloads for screens are left out)."""
    return [message["text"] for message in dispatcher.messages if message.get("text")]


def shown(dispatcher: CollectingDispatcher) -> list[dict[str, Any]]:
    """The custom payloads for screens (``docs/contracts.md``)."""
    return [message["custom"] for message in dispatcher.messages if message.get("custom")]


def slot_events(events: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {event["name"]: event["value"] for event in events if event.get("event") == "slot"}
