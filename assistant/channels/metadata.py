"""The user-message metadata every channel attaches (keys in docs/contracts.md)."""

from __future__ import annotations

from typing import Any

from assistant.core.language import script_language


def user_metadata(
    channel: str,
    text: str,
    *,
    asr_confidence: float | None = None,
    input_mode: str = "command",
    language: str | None = None,
) -> dict[str, Any]:
    """``language`` is only claimed when it is certain: given by a speech model, or Devanagari
    script. Romanised Hinglish is left for the dialogue to judge."""
    metadata: dict[str, Any] = {"channel": channel, "input_mode": input_mode}
    language = language or script_language(text)
    if language:
        metadata["language"] = language
    if asr_confidence is not None:
        metadata["asr_confidence"] = round(float(asr_confidence), 3)
    return metadata
