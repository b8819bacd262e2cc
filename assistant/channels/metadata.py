"""The user-message metadata every channel attaches (keys in docs/contracts.md)."""

from __future__ import annotations

from typing import Any, Optional

from voice.tts import language_of_text


def user_metadata(channel: str, text: str, *, asr_confidence: Optional[float] = None,
                  input_mode: str = "command", language: Optional[str] = None) -> dict[str, Any]:
    """``language`` is only claimed when it is certain: given by a speech model, or Devanagari
    script. Romanised Hinglish is left for the dialogue to judge."""
    metadata: dict[str, Any] = {"channel": channel, "input_mode": input_mode}
    language = language or (language_of_text(text, "") or None)
    if language:
        metadata["language"] = language
    if asr_confidence is not None:
        metadata["asr_confidence"] = round(float(asr_confidence), 3)
    return metadata
