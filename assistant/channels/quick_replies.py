"""Quick-reply buttons for the bot's choices, from the dialogue state.

The dialogue asks its questions in words, for the voice loop; on a screen
the same choices are also offered as buttons. Which choices apply follows
from the state the contract already exposes (docs/contracts.md): the form's
``requested_slot`` (specialty, urgency, sex, the yes/no read-back) and an
open checklist (``checklist`` slot) for next / repeat / back / stop. A
button sends a Rasa payload (``/inform{"specialty": "cardiology"}``), so a
tap is understood exactly, whatever the NLU would make of the words.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional

from assistant.vocabulary import SPECIALTIES

Button = dict[str, str]


def _inform(slot: str, value: str) -> str:
    return "/inform" + json.dumps({slot: value}, ensure_ascii=False, separators=(",", ":"))


# (value, English title, Hindi title); the Hindi words are the ones the dialogue itself uses.
_FORM_CHOICES: dict[str, list[tuple[str, str, str]]] = {
    "specialty": [(code, names["en"], names["hi"]) for code, names in SPECIALTIES.items()],
    "urgency": [("routine", "routine", "सामान्य"), ("urgent", "urgent", "जल्दी"), ("emergency", "emergency", "इमरजेंसी")],
    "sex": [("male", "male", "पुरुष"), ("female", "female", "महिला"), ("other", "other", "अन्य")],
}
_INTENT_CHOICES: dict[str, list[tuple[str, str, str]]] = {
    "confirmed": [("/affirm", "Yes", "हाँ"), ("/deny", "No", "नहीं")],
    "checklist": [("/next_step", "Next", "अगला"), ("/repeat_step", "Repeat", "दोहराएँ"),
                  ("/previous_step", "Back", "पीछे"), ("/stop", "Stop", "रोकें")],
}


def for_state(slots: Mapping[str, Any]) -> list[Button]:
    """The choices open after this turn, titled in the conversation's language."""
    hindi = slots.get("language") == "hi"
    requested: Optional[str] = slots.get("requested_slot")
    if requested in _FORM_CHOICES:
        return [{"title": hi if hindi else en, "payload": _inform(requested, value)} for value, en, hi in _FORM_CHOICES[requested]]
    key = requested if requested in _INTENT_CHOICES else ("checklist" if not requested and slots.get("checklist") else None)
    if key is None:
        return []
    return [{"title": hi if hindi else en, "payload": payload} for payload, en, hi in _INTENT_CHOICES[key]]


def title_of(payload: str, hindi: bool) -> Optional[str]:
    """The title of the quick reply that sends ``payload`` (for transcripts of taps)."""
    for slot, choices in _FORM_CHOICES.items():
        for value, en, hi in choices:
            if payload == _inform(slot, value):
                return hi if hindi else en
    for choices in _INTENT_CHOICES.values():
        for sent, en, hi in choices:
            if payload == sent:
                return hi if hindi else en
    return None


def attach(messages: list[dict[str, Any]], buttons: list[Button]) -> list[dict[str, Any]]:
    """The turn's messages, the last one carrying the buttons (unless the bot chose its own)."""
    if not buttons or any(message.get("buttons") for message in messages):
        return messages
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("text"):
            return [*messages[:index], {**messages[index], "buttons": buttons}, *messages[index + 1:]]
    return messages
