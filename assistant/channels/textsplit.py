"""Splitting long replies into pieces a messaging app accepts (WhatsApp: 4096 characters)."""

from __future__ import annotations

import re

# Break at the largest natural boundary that fits: paragraph, line, sentence, word.
_BOUNDARIES = (re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"(?<=[.!?।])\s+"), re.compile(r"\s+"))


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at boundaries where possible, none empty."""
    if limit < 1:
        raise ValueError("limit must be positive")
    text = text.strip()
    pieces: list[str] = []
    while len(text) > limit:
        cut = _cut_point(text, limit)
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def _cut_point(text: str, limit: int) -> int:
    window = text[: limit + 1]
    for boundary in _BOUNDARIES:
        ends = [match.start() for match in boundary.finditer(window) if 0 < match.start() <= limit]
        if ends:
            return ends[-1]
    return limit  # one unbroken run longer than the limit
