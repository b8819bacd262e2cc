"""Reading one answer into one field, or saying why it cannot be taken.

Each reader takes what the worker said (an entity value or the whole text)
and returns ``Checked``: the value, or the message key and values that
explain the problem in the worker's language (``actions.texts``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from assistant.core.canonical import Canonicaliser
from assistant.core.rules import AGE_RANGE, MAX_REF, MAX_TEXT
from assistant.core.spoken_numbers import Unfinished, normalise_numbers, parse_number, unfinished_numbers

# "4521", "P-4521", "RCH7781": optional short letter prefix joined to 3-12 digits.
_PATIENT_ID_RE = re.compile(r"(?<![\w-])(?:([A-Za-z]{1,4})-?)?(\d{3,12})(?![\w-])")
_MONTH_WORDS = re.compile(r"month|mahin|महीन", re.IGNORECASE)
# Digit groups a recogniser split: "45 21", "452 1".
_DIGIT_GROUPS_RE = re.compile(r"(?<![\w.-])\d+(?:\s+\d+)+(?![\w.-])")
# Answers that mean "nothing to add" for optional free text.
NOTHING_WORDS = {
    "no",
    "nope",
    "none",
    "nothing",
    "skip",
    "na",
    "nahi",
    "nahin",
    "kuch nahi",
    "no notes",
    "koi nahi",
    "नहीं",
    "ना",
    "कुछ नहीं",
    "कोई नहीं",
}


# A bare yes or no is an answer to another question, never a complaint or a note.
YES_WORDS = {
    "yes",
    "yeah",
    "yep",
    "ok",
    "okay",
    "haan",
    "haa",
    "ha",
    "ji",
    "ji haan",
    "theek hai",
    "हाँ",
    "हां",
    "जी",
    "जी हाँ",
    "ठीक है",
}


@dataclass(frozen=True)
class Checked:
    value: Any = None
    problem: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.problem is None


def closed_choice(kind: str, said: str | None, canonical: Canonicaliser) -> Checked:
    """Specialty, urgency or sex: whatever names one of the canonical values."""
    value = canonical.canonical(kind, said)
    return Checked(value) if value else Checked(problem=f"invalid_{kind}")


def patient_id(said: str | None) -> Checked:
    text = str(said or "")
    if unfinished_numbers(text):
        return Checked(problem="invalid_patient_id_unfinished")
    # A number read out in pieces is one id ("45 21" is 4521), as the NLU joins it.
    digits = _DIGIT_GROUPS_RE.sub(lambda groups: "".join(groups.group().split()), normalise_numbers(text))
    match = _PATIENT_ID_RE.search(digits)
    if not match:
        return Checked(problem="invalid_patient_id")
    prefix, digits = match.groups()
    value = f"{prefix.upper()}-{digits}" if prefix else digits
    return Checked(value[:MAX_REF])


def age(said: str | None) -> Checked:
    text = str(said or "")
    if unfinished_numbers(text):
        return Checked(problem="invalid_age_unfinished")
    years = parse_number(text)
    if years is None:
        return Checked(problem="invalid_age_unreadable")
    if _MONTH_WORDS.search(text):
        years = round(years / 12, 2)
    low, high = AGE_RANGE
    if not low <= years <= high:
        return Checked(problem="invalid_age_range", details={"value": f"{years:g}", "low": low, "high": high})
    return Checked(years)


def free_text(said: str | None, *, optional: bool = False, limit: int = MAX_TEXT) -> Checked:
    """Complaint, reason, notes: the words as said. Optional text accepts "no" as nothing."""
    text = " ".join(str(said or "").split())
    bare = text.lower().strip(" .!।")
    if optional and bare in NOTHING_WORDS:
        return Checked("")
    if not text or bare in YES_WORDS or bare in NOTHING_WORDS:
        return Checked(problem="invalid_text")
    return Checked(text[:limit])


def cut_short_near(text: str, spans: list[tuple[int, int]]) -> Unfinished | None:
    """The unfinished number in ``text`` that overlaps or directly follows one of ``spans``.

    An entity the tagger found ("forty five" in "age forty five point") is
    only whole if nothing right after it says the number went on.
    """
    for cut in unfinished_numbers(text):
        if any(cut.start <= end and start <= cut.end for start, end in spans):
            return cut
    return None
