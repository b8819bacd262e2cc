"""Conversation-wide actions: the reply language, and "stop".

The language slot is filled by ``action_detect_language`` after every user
message (a custom slot mapping in domain.yml). Precedence: the language the
channel reports in the message metadata (voice and web know it), then an
explicit "speak Hindi", then the script and words of the message itself.
Short answers ("yes", "next", "4521") keep the current language.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.checklist import clear_progress
from actions.context import language_of
from actions.forms import form_named
from actions.services import services
from actions.texts import say
from assistant.vocabulary import LANGUAGES

_DEVANAGARI = re.compile(r"[\u0900-\u097f]")
_WORD = re.compile(r"[a-z']+")
# Romanised Hindi words that English does not use, and English words that
# romanised Hindi does not use. Shared words ("doctor", "patient", "bp", and
# "do", which is Hindi in "cancel kar do") say nothing.
_HINDI_WORDS = frozenset(
    "hai hain chahiye karo kariye kijiye karna karni karwa karwao karwana kya kaise kab kitne mein ka ki ke ko se "
    "nahi nahin haan ji batao bataiye bolo agla pichla dobara mareez mareej bachche bachon bacchon aurat aadmi saal "
    "wala wale wali mera meri mere aap tum hua ho gaya dikhao lagao darj jaldi dard bukhar theek sahi galat ruko "
    "band bas madad dhanyavaad dhanyawad shukriya alvida chalo jao peeche aage fir phir abhi liye raha rahi tha thi "
    "kar kare karein karen karte kardo dijiye dena hatao hata radd baat banao banana naya nayi purana".split()
)
_ENGLISH_WORDS = frozenset(
    "the is are was a an to for of i my please what how can you with and need want does me this that "
    "it's is there show tell book give get have has".split()
)


def detect_language(text: str, current: str) -> str:
    """ "hi" for Devanagari or romanised Hindi, "en" for English, else ``current``."""
    if _DEVANAGARI.search(text):
        return "hi"
    words = _WORD.findall(text.lower())
    hindi = sum(word in _HINDI_WORDS for word in words)
    english = sum(word in _ENGLISH_WORDS for word in words)
    if hindi > english:
        return "hi"
    if english > hindi:
        return "en"
    return current


def _chosen_language(tracker: Tracker) -> Optional[str]:
    """The language the worker asked for in this conversation ("speak Hindi"), if any."""
    for event in reversed(tracker.events):
        if event.get("event") == "user" and (event.get("parse_data") or {}).get("intent", {}).get("name") == "choose_language":
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
