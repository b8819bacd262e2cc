"""The conversation so far, from Rasa's tracker, for a page that was reloaded.

The tracker is the record (the page's own copy may be gone or stale): user
turns and bot messages of the current session, in the shapes the webhook
returns, so the page draws both the same way, with the choices still open
(a question's buttons are part of its bot message).
"""

from __future__ import annotations

from typing import Any

from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from assistant.core.dialogue import title_of

MAX_MESSAGES = 200


def _title_for(text: str, buttons: list[dict[str, Any]], language: str) -> str:
    """A tapped button was sent as its payload ("/affirm"); show what the worker saw."""
    for button in buttons:
        if isinstance(button, dict) and button.get("payload") == text and button.get("title"):
            return str(button["title"])
    return title_of(text, language) or text


def transcript(tracker: DialogueStateTracker) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    buttons: list[dict[str, Any]] = []
    language = str(tracker.current_slot_values().get("language") or "en")
    for event in tracker.events:
        if isinstance(event, UserUttered) and event.text:
            messages.append({"from": "user", "text": _title_for(event.text, buttons, language)})
            buttons = []
        elif isinstance(event, BotUttered):
            data = event.data or {}
            message: dict[str, Any] = {"from": "bot", "text": event.text or ""}
            for key in ("buttons", "custom"):
                if data.get(key):
                    message[key] = data[key]
            if message["text"] or len(message) > 2:
                messages.append(message)
            buttons = list(data.get("buttons") or buttons)
    return messages[-MAX_MESSAGES:]
