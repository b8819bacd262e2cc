"""Conversation-wide actions: the reply language, and "stop".

The language slot is filled by ``action_detect_language`` after every user
message (a custom slot mapping in domain.yml). Precedence: the language the
channel reports in the message metadata (voice and web know it), then an
explicit "speak Hindi", then the script and words of the message itself.
Short answers ("yes", "next", "4521") keep the current language.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.checklist import clear_progress
from actions.context import language_of
from actions.forms import form_named
from actions.services import services
from actions.texts import say
from assistant.core.language import detect_language
from assistant.core.vocabulary import LANGUAGES

CHOICE_SLOT = "language_choice"  # domain.yml


def _choice_in(message: dict[str, Any]) -> str | None:
    """The language this message asks for ("speak Hindi"), if it does."""
    parse_data = message.get("parse_data") or message
    if (parse_data.get("intent") or {}).get("name") != "choose_language":
        return None
    for entity in parse_data.get("entities") or []:
        if entity.get("entity") == "language":
            chosen = services().canonical.canonical("language", str(entity.get("value")))
            if chosen in LANGUAGES:
                return str(chosen)
    return None


def _chosen_language(tracker: Tracker) -> str | None:
    """The language the worker asked for: in this message, earlier in the session, or kept in its slot."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            chosen = _choice_in(event)
            if chosen is not None:
                return chosen
    kept = tracker.get_slot(CHOICE_SLOT)
    return kept if kept in LANGUAGES else None


class ActionDetectLanguage(Action):
    def name(self) -> str:
        return "action_detect_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        latest = tracker.latest_message or {}
        current = language_of(tracker)
        reported = (latest.get("metadata") or {}).get("language")
        chosen = _chosen_language(tracker)
        if reported in LANGUAGES:
            language = reported
        else:
            language = chosen or detect_language(latest.get("text") or "", current)
        events = [SlotSet("language", language)] if language != current else []
        if chosen is not None and chosen != tracker.get_slot(CHOICE_SLOT):
            # Kept in a slot: sessions end between flows, and the choice outlives them.
            events.append(SlotSet(CHOICE_SLOT, chosen))
        return events


class ActionStop(Action):
    """Leaves the open form (nothing saved) or, outside forms, the open checklist."""

    def name(self) -> str:
        return "action_stop"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        language = language_of(tracker)
        form = form_named(tracker.active_loop.get("name"))
        if form is not None:
            say(dispatcher, "stopped_form", language)
            return [ActiveLoop(None), *form.reset()]
        if tracker.get_slot("checklist"):
            say(dispatcher, "stopped_checklist", language)
            return clear_progress()
        say(dispatcher, "stopped_nothing", language)
        return []
