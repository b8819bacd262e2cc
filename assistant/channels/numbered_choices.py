"""The bot's choices (Rasa buttons) on screens that can only show text, and the worker's pick.

A text-only reply lists the choices as numbers; the worker answers "2". The
payloads are remembered per worker (``state.ChannelState``) until the next
message, so the number maps back to exactly the choice that was shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from assistant.core.language import script_language

_BARE_NUMBER = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")
_PROMPT = {"en": "Reply with a number.", "hi": "नंबर लिखकर जवाब दें।"}


@dataclass(frozen=True)
class Choice:
    title: str
    payload: str


def choices_of(buttons: Iterable[dict[str, Any]] | None) -> list[Choice]:
    """Rasa buttons (``{"title", "payload"}``); a button without a payload sends its title."""
    result = []
    for button in buttons or []:
        if not isinstance(button, dict):
            continue
        title = str(button.get("title") or button.get("payload") or "").strip()
        payload = str(button.get("payload") or title).strip()
        if title:
            result.append(Choice(title, payload))
    return result


def numbered_text(text: str, choices: list[Choice]) -> str:
    lines = [f"{number}. {choice.title}" for number, choice in enumerate(choices, start=1)]
    prompt = _PROMPT[script_language(text or " ".join(choice.title for choice in choices)) or "en"]
    return "\n".join(part for part in (text.strip(), "\n".join(lines), prompt) if part)


def pick(typed: str, payloads: list[str]) -> str | None:
    """The payload a bare number ("2", "2.") chooses, if the last reply offered that many."""
    match = _BARE_NUMBER.match(typed)
    if not match:
        return None
    number = int(match.group(1))
    return payloads[number - 1] if 1 <= number <= len(payloads) else None
