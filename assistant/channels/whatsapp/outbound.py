"""Rasa bot messages as Graph API message bodies, within WhatsApp's limits.

Choices (Rasa buttons) go out as reply buttons (at most 3, titles up to 20
characters), else as a list message (at most 10 rows, titles up to 24), else
as numbered text the worker answers with a number. Text longer than a
message allows is split at paragraph, sentence or word boundaries. A hub
notice outside the 24-hour window goes as an approved template message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assistant.channels.numbered_choices import Choice, numbered_text
from assistant.channels.textsplit import split_text
from assistant.core.language import script_language

TEXT_LIMIT = 4096
INTERACTIVE_BODY_LIMIT = 1024
MAX_BUTTONS, BUTTON_TITLE_LIMIT, BUTTON_ID_LIMIT = 3, 20, 256
MAX_ROWS, ROW_TITLE_LIMIT, ROW_DESCRIPTION_LIMIT, ROW_ID_LIMIT = 10, 24, 72, 200
LIST_BUTTON_LABEL = {"en": "Choose", "hi": "चुनें"}


@dataclass(frozen=True)
class Recipient:
    phone: str | None = None
    user_id: str | None = None

    def address(self) -> dict[str, str]:
        # A phone number when we have one (Meta's advice); else the business-scoped user id.
        if self.phone:
            return {"to": self.phone}
        if self.user_id:
            return {"recipient": self.user_id}
        raise ValueError("a recipient needs a phone number or a user id")


@dataclass
class Outgoing:
    bodies: list[dict[str, Any]] = field(default_factory=list)
    # Payloads to remember when the choices went out as numbered text.
    numbered: list[str] = field(default_factory=list)


def _envelope(recipient: Recipient, kind: str, content: dict[str, Any]) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        **recipient.address(),
        "type": kind,
        kind: content,
    }


def text_bodies(recipient: Recipient, text: str) -> list[dict[str, Any]]:
    return [
        _envelope(recipient, "text", {"body": piece, "preview_url": False}) for piece in split_text(text, TEXT_LIMIT)
    ]


def template_body(recipient: Recipient, name: str, language: str, text: str) -> dict[str, Any]:
    """An approved template message whose body has one parameter, ``text`` (outside the 24-hour window)."""
    parameters = [{"type": "text", "text": text}]
    return _envelope(
        recipient,
        "template",
        {"name": name, "language": {"code": language}, "components": [{"type": "body", "parameters": parameters}]},
    )


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _distinct(values: list[str]) -> bool:
    return len(set(values)) == len(values)


def _fits_buttons(choices: list[Choice]) -> bool:
    return (
        len(choices) <= MAX_BUTTONS
        and all(len(c.title) <= BUTTON_TITLE_LIMIT and len(c.payload) <= BUTTON_ID_LIMIT for c in choices)
        and _distinct([c.title for c in choices])
    )


def _fits_list(choices: list[Choice]) -> bool:
    return len(choices) <= MAX_ROWS and all(len(c.payload) <= ROW_ID_LIMIT for c in choices)


def _interactive(recipient: Recipient, body: str, choices: list[Choice]) -> dict[str, Any]:
    if _fits_buttons(choices):
        action: dict[str, Any] = {
            "buttons": [{"type": "reply", "reply": {"id": c.payload, "title": c.title}} for c in choices]
        }
        return _envelope(recipient, "interactive", {"type": "button", "body": {"text": body}, "action": action})
    rows = []
    for choice in choices:
        row = {"id": choice.payload, "title": _shorten(choice.title, ROW_TITLE_LIMIT)}
        if row["title"] != choice.title:
            row["description"] = _shorten(choice.title, ROW_DESCRIPTION_LIMIT)
        rows.append(row)
    label = LIST_BUTTON_LABEL[script_language(body) or "en"]
    action = {"button": label, "sections": [{"rows": rows}]}
    return _envelope(recipient, "interactive", {"type": "list", "body": {"text": body}, "action": action})


def choice_bodies(recipient: Recipient, text: str, choices: list[Choice]) -> Outgoing:
    if not choices:
        return Outgoing(text_bodies(recipient, text))
    payloads = [c.payload for c in choices]
    if not _distinct(payloads) or not (_fits_buttons(choices) or _fits_list(choices)):
        return Outgoing(text_bodies(recipient, numbered_text(text, choices)), numbered=payloads)
    # An interactive body holds 1024 characters: anything before goes as plain text first.
    parts = split_text(text, INTERACTIVE_BODY_LIMIT) or ["…"]
    head = "\n".join(parts[:-1])
    bodies = text_bodies(recipient, head) if head else []
    bodies.append(_interactive(recipient, parts[-1], choices))
    return Outgoing(bodies)
