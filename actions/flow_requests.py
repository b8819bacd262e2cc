"""When an answer inside a form is really a request for something else.

A form question expects an answer, but the worker may ask for another flow
instead ("log a new encounter for patient 8813" while the consult form asks
for the reason), or say stop, help or cancel. The form must then step aside,
so that the rules start what was asked, and nothing the worker said for the
other flow may land in this form's slots.

For a free-text question (the consult's reason, the complaint, the notes)
the intent alone cannot decide: the NLU is just as sure that a complaint is
a consult request ("seene mein dard" is request_consult at 1.00, rightly so
outside a form), and "patient was referred last week" comes out as
previous_step. So a request for another flow must also name what it asks for,
in words a complaint does not use: "log a new encounter", "the hand hygiene
checklist", "cancel my consult". "patient has chest pain" stays the reason.
"""

from __future__ import annotations

import re

from rasa_sdk import Tracker

from assistant.core.dialogue import FLOW_INTENTS, FREE_TEXT_SLOTS

# Questions that no request of the form's own kind can answer: the free text,
# and "which one should I change?". A new request there starts afresh.
_OPEN_QUESTIONS = FREE_TEXT_SLOTS | {"correction_field"}

# The form each flow intent opens (a checklist or a status question opens none).
FORM_OPENED_BY: dict[str, str | None] = {
    "request_consult": "consult_form",
    "log_encounter": "encounter_form",
    "cancel_consult": "cancel_form",
    "task_done": "task_done_form",
    "add_task": "task_add_form",
}

# What a request for each flow says, in English, Hinglish and Hindi.
REQUEST_WORDS: dict[str, str] = {
    "request_consult": r"consult\w*|book\w*|appointment|specialist se|कंसल्ट|परामर्श|बुक|अपॉइंटमेंट",
    "log_encounter": r"encounter|visit|log|record|entry|register|darj|विज़िट|विजिट|दर्ज|एंट्री|रिकॉर्ड",
    "get_checklist": r"checklists?|steps?|procedures?|kaise|tarika|how (?:to|do)|चेकलिस्ट|स्टेप|कैसे|तरीका",
    "cancel_consult": r"cancel\w*|radd|hata\w*|withdraw|call off|रद्द|कैंसिल|कैंसल|हटा\w*",
    "consult_status": r"status|update|news|kab|when|स्थिति|स्टेटस|कब",
    "task_done": r"done|finished|completed|ho gaya|ho gayi|kar (?:liya|diya|li|di)"
    r"|हो गया|हो गई|पूरा|कर (?:लिया|दिया|ली|दी)",
    "add_task": r"remind\w*|reminder|yaad|याद|add (?:a )?task",
}
_REQUEST_RES = {
    intent: re.compile(rf"(?<!\w)(?:{words})(?!\w)", re.IGNORECASE) for intent, words in REQUEST_WORDS.items()
}

# "stop" always works, whatever else was said; "help" and a language change
# inside dictation only when that is all that was said.
STOP_INTENTS = frozenset({"stop"})
SHORT_COMMANDS = frozenset({"help", "choose_language"})
_SHORT_WORDS = 4
# Below this the NLU is guessing, and the words stay an answer.
MIN_CONFIDENCE = 0.6


def other_request(tracker: Tracker, form: str) -> str | None:
    """The intent of a request for something else, said where ``form`` expected an answer."""
    requested = tracker.get_slot("requested_slot")
    if tracker.active_loop.get("name") != form or not requested:
        return None  # the form is opening: the opening sentence is for it
    message = tracker.latest_message or {}
    intent = (message.get("intent") or {}).get("name")
    confidence = float((message.get("intent") or {}).get("confidence") or 0.0)
    text = str(message.get("text") or "")
    if intent is None or confidence < MIN_CONFIDENCE:
        return None
    if intent in STOP_INTENTS:
        return intent
    if intent in SHORT_COMMANDS:
        return intent if requested not in FREE_TEXT_SLOTS or len(text.split()) <= _SHORT_WORDS else None
    if intent not in FLOW_INTENTS:
        return None
    if FORM_OPENED_BY.get(intent) == form and requested not in _OPEN_QUESTIONS:
        return None  # "cardiology consult" answers the consult form's specialty question
    return intent if _REQUEST_RES[intent].search(text) else None
