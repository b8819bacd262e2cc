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


def _chosen_language(tracker: Tracker) -> str | None:
    """The language the worker asked for in this conversation ("speak Hindi"), if any."""
    for event in reversed(tracker.events):
        if (
            event.get("event") == "user"
            and (event.get("parse_data") or {}).get("intent", {}).get("name") == "choose_language"
        ):
            for entity in (event.get("parse_data") or {}).get("entities", []):
                if entity.get("entity") == "language":
                    chosen = services().canonical.canonical("language", str(entity.get("value")))
                    if chosen in LANGUAGES:
                        return chosen
    return None


class ActionDetectLanguage(Action):
    def name(self) -> str:
        return "action_detect_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        latest = tracker.latest_message or {}
        current = language_of(tracker)
        reported = (latest.get("metadata") or {}).get("language")
        if reported in LANGUAGES:
            language = reported
        else:
            language = _chosen_language(tracker) or detect_language(latest.get("text") or "", current)
        return [SlotSet("language", language)] if language != current else []


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
