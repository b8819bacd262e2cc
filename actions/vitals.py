"""Vitals from one spoken sentence: "bp 140 over 90 temperature 101 pulse 88".

Numbers are normalised first (``assistant.spoken_numbers``), so "one forty
over ninety" and "ek sau chalis bata nabbe" read the same as "140/90". Each
vital is found by its keyword in English, Hinglish or Hindi. The plausible
ranges are the backend's own (``assistant.backend.validation``), so the
assistant re-asks exactly when the backend would refuse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

from assistant.backend.validation import FAHRENHEIT_BAND, VITAL_RANGES
from assistant.spoken_numbers import normalise_numbers

_GAP = r"[^\d\n]{0,14}?"  # "is", "hai", ":", "of" between a keyword and its number
# How each value can look; a temperature or pulse of "3" is a duration ("fever for 3 days").
_NUMBERS = {
    "temperature": r"(\d{2,3}(?:\.\d+)?)",
    "pulse": r"(\d{2,3})",
    "spo2": r"(\d{2,3})",
    "weight_kg": r"(\d{1,3}(?:\.\d+)?)",
    "respiratory_rate": r"(\d{1,2})(?!\d)",
}
_BP_SEPARATOR = r"\s*(?:/|over|by|upon|bata|बटा|\s)\s*"

_KEYWORDS = {
    "bp": r"b\.?\s?p\.?|blood pressure|बीपी|ब्लड प्रेशर|रक्तचाप",
    "temperature": r"temp(?:erature)?|bukha+r|fever|ta+pma+n|तापमान|बुखार|टेम्परेचर",
    "pulse": r"pulse|heart rate|nadi|nabz|pals|पल्स|नाड़ी|नब्ज़?",
    "spo2": r"sp\s?o\s?2|oxygen|saturation|sats|ऑक्सीजन",
    "weight_kg": r"weight|wt|wajan|vajan|wazan|वजन|वज़न",
    "respiratory_rate": r"rr|resp(?:iratory)? rate|breathing rate|breaths|saans ki dar|सांस की दर",
}


def _keyword(name: str) -> str:
    # Latin keywords must not sit inside another word ("temp" in "attempt").
    return rf"(?<![a-z])(?:{_KEYWORDS[name]})(?![a-z])"


_BP_RE = re.compile(_keyword("bp") + _GAP + r"(\d{2,3})" + _BP_SEPARATOR + r"(\d{2,3})(?!\d)", re.IGNORECASE)
_BARE_BP_RE = re.compile(r"(?<![\d.])(\d{2,3})\s*/\s*(\d{2,3})(?![\d.])")
_SINGLE_RES = {name: re.compile(_keyword(name) + _GAP + number, re.IGNORECASE) for name, number in _NUMBERS.items()}
_UNIT_RE = re.compile(r"\s*(?:°|degrees?|डिग्री)?\s*(c|f|celsius|fahrenheit|सेल्सियस|फ़ारेनहाइट)(?![a-z])", re.IGNORECASE)


@dataclass(frozen=True)
class Problem:
    """Why a value was not taken: ``field`` is a backend vitals field name."""

    field: str
    value: float
    low: float
    high: float
    unit: str


def parse_vitals(text: str) -> dict[str, Any]:
    """The vitals mentioned in ``text``, as the backend's ``vitals`` object.

    Keys: systolic_bp, diastolic_bp, temperature, temperature_unit, pulse,
    spo2, weight_kg, respiratory_rate. Only what was said is present.
    """
    said = normalise_numbers(text)
    vitals: dict[str, Any] = {}
    bp = _BP_RE.search(said) or _BARE_BP_RE.search(said)
    if bp:
        vitals["systolic_bp"], vitals["diastolic_bp"] = int(bp.group(1)), int(bp.group(2))
        said = said[: bp.start()] + " " + said[bp.end():]  # its numbers belong to nobody else
    for name, pattern in _SINGLE_RES.items():
        match = pattern.search(said)
        if not match:
            continue
        value = float(match.group(1))
        vitals[name] = int(value) if value.is_integer() else value
        if name == "temperature":
            vitals["temperature_unit"] = _temperature_unit(value, said[match.end():])
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


def celsius_of(vitals: dict[str, Any]) -> Optional[float]:
    value = vitals.get("temperature")
    if value is None:
        return None
    return round((value - 32) * 5 / 9, 1) if vitals.get("temperature_unit") == "F" else float(value)
