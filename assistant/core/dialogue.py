"""The dialogue's contract with the channels: which intents are not answers, and what input comes next.

Every question the action server asks says, in its bot message's custom
payload, what the worker's next message is expected to be
(docs/contracts.md is the one description of it)::

    {"next_input": {"slot": "urgency", "mode": "command",
                    "choices": [{"title": "routine", "payload": "/inform{\\"urgency\\":\\"routine\\"}"}, ...],
                    "language": "en"}}

The voice loop listens in ``mode`` and answers in ``language``; the web
chat, WhatsApp and Twilio show ``choices`` (also sent as the message's Rasa
buttons) and transcribe a voice note in ``mode``. No channel reads the
tracker for this. A bot message without it means: a command, no choices.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from assistant.core.vocabulary import SEXES, SPECIALTIES, URGENCIES, VALUE_LABELS

Mode = Literal["command", "dictation"]
NEXT_INPUT = "next_input"

# Slots answered in the worker's own words: the recogniser takes dictation.
FREE_TEXT_SLOTS = frozenset({"complaint", "reason", "notes", "task_what"})

# Intents the rules answer inside a form: their words are never an answer and carry no values.
CONTROL_INTENTS = ("stop", "help", "out_of_scope", "choose_language")
SMALL_TALK_INTENTS = ("greet", "goodbye", "thank")
# Intents that start a flow of their own.
FLOW_INTENTS = (
    "request_consult",
    "consult_status",
    "cancel_consult",
    "log_encounter",
    "get_checklist",
    "task_done",
    "add_task",
)
# A whole answer (a from_text slot mapping in domain.yml, the ``not_an_answer``
# anchor) is never taken from a message with one of these intents.
NOT_AN_ANSWER = (*CONTROL_INTENTS, *SMALL_TALK_INTENTS, *FLOW_INTENTS)
# Free text takes any words but these (the free-text mappings' ``not_intent``);
# a flow asked for inside free text is judged by its words (actions.flow_requests).
NOT_DICTATION = ("stop", "help")


@dataclass(frozen=True)
class Choice:
    title: str
    payload: str

    def button(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}


def _inform(slot: str, value: str) -> str:
    return "/inform" + json.dumps({slot: value}, ensure_ascii=False, separators=(",", ":"))


# (payload, its title in English and Hindi)
_SLOT_CHOICES: dict[str, list[tuple[str, dict[str, str]]]] = {
    "specialty": [(_inform("specialty", code), names) for code, names in SPECIALTIES.items()],
    "urgency": [(_inform("urgency", value), VALUE_LABELS[value]) for value in URGENCIES],
    "sex": [(_inform("sex", value), VALUE_LABELS[value]) for value in SEXES],
    "confirmed": [("/affirm", {"en": "Yes", "hi": "हाँ"}), ("/deny", {"en": "No", "hi": "नहीं"})],
}
CHECKLIST_STEP = "checklist_step"  # not a slot that is asked: the choices while a checklist is read
_SLOT_CHOICES[CHECKLIST_STEP] = [
    ("/next_step", {"en": "Next", "hi": "अगला"}),
    ("/repeat_step", {"en": "Repeat", "hi": "दोहराएँ"}),
    ("/previous_step", {"en": "Back", "hi": "पीछे"}),
    ("/stop", {"en": "Stop", "hi": "रोकें"}),
]


def _title(titles: dict[str, str], language: str) -> str:
    return titles["hi"] if language == "hi" else titles["en"]


def choices_for(slot: str | None, language: str) -> list[Choice]:
    """The buttons that answer ``slot`` (a form question, ``confirmed``, or ``CHECKLIST_STEP``)."""
    return [Choice(_title(titles, language), payload) for payload, titles in _SLOT_CHOICES.get(slot or "", [])]


def title_of(payload: str, language: str) -> str | None:
    """What the button that sends ``payload`` said (to show a tap in a transcript)."""
    for choices in _SLOT_CHOICES.values():
        for sent, titles in choices:
            if sent == payload:
                return _title(titles, language)
    return None


def mode_for(slot: str | None) -> Mode:
    return "dictation" if slot in FREE_TEXT_SLOTS else "command"


@dataclass(frozen=True)
class NextInput:
    """What the worker's next message is expected to be."""

    slot: str | None = None
    mode: Mode = "command"
    choices: tuple[Choice, ...] = field(default_factory=tuple)
    language: str | None = None

    @classmethod
    def asking(cls, slot: str | None, language: str) -> NextInput:
        """For a question about ``slot`` (None: no slot, e.g. a checklist step with ``CHECKLIST_STEP`` choices)."""
        return cls(
            slot if slot != CHECKLIST_STEP else None, mode_for(slot), tuple(choices_for(slot, language)), language
        )

    def payload(self) -> dict[str, Any]:
        return {
            NEXT_INPUT: {
                "slot": self.slot,
                "mode": self.mode,
                "choices": [choice.button() for choice in self.choices],
                "language": self.language,
            }
        }

    @classmethod
    def of(cls, messages: Iterable[dict[str, Any]]) -> NextInput:
        """The last one the bot's messages carry (as Rasa's REST channel returns them), or the default."""
        found = cls()
        for message in messages:
            custom = message.get("custom")
            expected = custom.get(NEXT_INPUT) if isinstance(custom, dict) else None
            if isinstance(expected, dict):
                found = cls._read(expected)
        return found

    @classmethod
    def _read(cls, raw: dict[str, Any]) -> NextInput:
        choices = tuple(
            Choice(str(item.get("title", "")), str(item.get("payload", "")))
            for item in raw.get("choices") or []
            if isinstance(item, dict) and item.get("payload")
        )
        slot = raw.get("slot") if isinstance(raw.get("slot"), str) else None
        mode: Mode = "dictation" if raw.get("mode") == "dictation" else "command"
        language = raw.get("language") if isinstance(raw.get("language"), str) else None
        return cls(slot, mode, choices, language)
