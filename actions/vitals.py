"""Vitals from one spoken sentence: "bp 140 over 90 temperature 101 pulse 88".

Numbers are normalised first (``assistant.core.spoken_numbers``), so "one forty
over ninety" and "ek sau chalis bata nabbe" read the same as "140/90". Each
vital is found by its keyword in English, Hinglish or Hindi. The plausible
ranges are the backend's own (``assistant.backend.validation``), so the
assistant re-asks exactly when the backend would refuse.

A vital that is named but not heard whole ("bp 140 overnight", "bp one
forty", "temperature ninety eight point") is never taken in part: it is
reported as unheard, so the form can say which one it did not get.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from assistant.core.rules import FAHRENHEIT_BAND, VITAL_RANGES
from assistant.core.spoken_numbers import normalise_numbers, unfinished_numbers

_GAP = r"[^\d\n]{0,14}?"  # "is", "hai", ":", "of" between a keyword and its number
# How each value can look; a temperature or pulse of "3" is a duration ("fever for 3 days").
_NUMBERS = {
    "temperature": r"(?P<value>\d{2,3}(?:\.\d+)?)",
    "pulse": r"(?P<value>\d{2,3})",
    "spo2": r"(?P<value>\d{2,3})",
    "weight_kg": r"(?P<value>\d{1,3}(?:\.\d+)?)",
    "respiratory_rate": r"(?P<value>\d{1,2})(?!\d)",
}
_BP_SEPARATOR = r"\s*(?:/|over|by|upon|bata|बटा|\s)\s*"

# Each vital's own names. A name said without a whole value means the value
# was not heard.
_NAMES = {
    "bp": r"b\.?\s?p\.?|blood pressure|बीपी|ब्लड प्रेशर|रक्तचाप",
    "temperature": r"temp(?:erature)?|ta+pma+n|तापमान|टेम्परेचर",
    "pulse": r"pulse|heart rate|nadi|nabz|pals|पल्स|नाड़ी|नब्ज़?",
    "spo2": r"sp\s?o\s?2|oxygen|saturation|sats|ऑक्सीजन",
    "weight_kg": r"weight|wt|wajan|vajan|wazan|वजन|वज़न",
    "respiratory_rate": r"rr|resp(?:iratory)? rate|breathing rate|breaths|saans ki dar|सांस की दर",
}
# Words that may stand before a value ("fever 101") but alone are a complaint.
_ALSO_BEFORE_A_VALUE = {"temperature": r"bukha+r|fever|बुखार"}
_KEYWORDS = {name: "|".join(filter(None, (names, _ALSO_BEFORE_A_VALUE.get(name)))) for name, names in _NAMES.items()}


def _keyword(name: str, words: dict[str, str] = _KEYWORDS) -> str:
    # Latin keywords must not sit inside another word ("temp" in "attempt").
    return rf"(?<![a-z])(?:{words[name]})(?![a-z])"


_BP_RE = re.compile(_keyword("bp") + _GAP + r"(\d{2,3})" + _BP_SEPARATOR + r"(\d{2,3})(?!\d)", re.IGNORECASE)
_BARE_BP_RE = re.compile(r"(?<![\d.])(\d{2,3})\s*/\s*(\d{2,3})(?![\d.])")
_SINGLE_RES = {
    name: re.compile(_keyword(name) + f"(?P<gap>{_GAP})" + number, re.IGNORECASE) for name, number in _NUMBERS.items()
}
_NAME_RES = {name: re.compile(_keyword(name, _NAMES), re.IGNORECASE) for name in _NAMES}
# Any vital's name: the gap between a keyword and its number never crosses one.
_ANY_NAME_RE = re.compile("|".join(f"(?:{_keyword(name, _NAMES)})" for name in _NAMES), re.IGNORECASE)
# The backend fields each vital fills.
FIELDS_OF = {"bp": ("systolic_bp", "diastolic_bp"), "temperature": ("temperature", "temperature_unit")}
_UNIT_RE = re.compile(r"\s*(?:°|degrees?|डिग्री)?\s*(c|f|celsius|fahrenheit|सेल्सियस|फ़ारेनहाइट)(?![a-z])", re.IGNORECASE)


@dataclass(frozen=True)
class Problem:
    """Why a value was not taken: ``field`` is a backend vitals field name."""

    field: str
    value: float
    low: float
    high: float
    unit: str


@dataclass(frozen=True)
class VitalsReading:
    """What one sentence said: whole values, and the vitals named but not heard whole."""

    values: dict[str, Any] = field(default_factory=dict)
    unheard: tuple[str, ...] = ()  # "bp", "temperature", "pulse", "spo2", "weight_kg", "respiratory_rate"


def read_vitals(text: str) -> VitalsReading:
    """The vitals in ``text``; a vital named without a whole value is ``unheard``, never partial."""
    values = parse_vitals(text)
    unheard: list[str] = []
    for name, text_after in _mentions(text):
        cut = unfinished_numbers(text_after)
        if cut or not any(key in parse_vitals(text_after) for key in FIELDS_OF.get(name, (name,))):
            unheard.append(name)
    mentioned = {name for name, _ in _mentions(text)}
    if "bp" not in mentioned and any(cut.kind == "pair" for cut in unfinished_numbers(text)):
        unheard.append("bp")  # "140 overnight" with no name before it
    for name in unheard:
        for key in FIELDS_OF.get(name, (name,)):
            values.pop(key, None)
    return VitalsReading(values, tuple(dict.fromkeys(unheard)))


def _mentions(text: str) -> list[tuple[str, str]]:
    """Each vital named in ``text``, with what follows its name up to the next name."""
    found = sorted(
        (match.start(), match.end(), name) for name, pattern in _NAME_RES.items() for match in pattern.finditer(text)
    )
    return [
        (name, text[start : found[index + 1][0] if index + 1 < len(found) else len(text)])
        for index, (start, _end, name) in enumerate(found)
    ]


def parse_vitals(text: str) -> dict[str, Any]:
    """The vitals mentioned in ``text``, as the backend's ``vitals`` object.

    Keys: systolic_bp, diastolic_bp, temperature, temperature_unit, pulse,
    spo2, weight_kg, respiratory_rate. Only what was said is present; use
    ``read_vitals`` to also learn what was named but not heard whole.
    """
    said = normalise_numbers(text)
    vitals: dict[str, Any] = {}
    bp = _BP_RE.search(said) or _BARE_BP_RE.search(said)
    if bp:
        vitals["systolic_bp"], vitals["diastolic_bp"] = int(bp.group(1)), int(bp.group(2))
        said = said[: bp.start()] + " " + said[bp.end() :]  # its numbers belong to nobody else
    for name, pattern in _SINGLE_RES.items():
        # "fever, pulse 80": the 80 is the pulse's, not a temperature after "fever".
        match = next((m for m in pattern.finditer(said) if not _ANY_NAME_RE.search(m.group("gap"))), None)
        if not match:
            continue
        value = float(match.group("value"))
        vitals[name] = int(value) if value.is_integer() else value
        if name == "temperature":
            vitals["temperature_unit"] = _temperature_unit(value, said[match.end() :])
    return vitals


def _temperature_unit(value: float, after: str) -> str:
    unit = _UNIT_RE.match(after)
    if unit:
        return "F" if unit.group(1).lower() in ("f", "fahrenheit", "फ़ारेनहाइट") else "C"
    # Unlabelled: field thermometers in India read °F; a value in the body's
    # Celsius range can only be Celsius.
    return "F" if value >= FAHRENHEIT_BAND[0] else "C"


def problems(vitals: dict[str, Any]) -> list[Problem]:
    """Impossible values, judged by the backend's ranges."""
    found = []
    for name, value in vitals.items():
        if name in ("temperature", "temperature_unit"):
            continue
        low, high, unit = VITAL_RANGES[name]
        if not low <= value <= high:
            found.append(Problem(name, value, low, high, unit))
    if "temperature" in vitals:
        celsius = celsius_of(vitals)
        low, high, unit = VITAL_RANGES["temperature_c"]
        if celsius is not None and not low <= celsius <= high:
            if vitals.get("temperature_unit") == "F":
                low, high, unit = (low * 9 / 5 + 32, high * 9 / 5 + 32, "°F")
            found.append(Problem("temperature_c", vitals["temperature"], round(low, 1), round(high, 1), unit))
    return found


def bp_order_wrong(vitals: dict[str, Any]) -> bool:
    systolic, diastolic = vitals.get("systolic_bp"), vitals.get("diastolic_bp")
    return systolic is not None and diastolic is not None and diastolic >= systolic


def celsius_of(vitals: dict[str, Any]) -> float | None:
    value = vitals.get("temperature")
    if value is None:
        return None
    return round((value - 32) * 5 / 9, 1) if vitals.get("temperature_unit") == "F" else float(value)
