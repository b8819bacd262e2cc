"""Turning request bodies into validated values, with a precise 4xx for anything wrong."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from aiohttp import web

from assistant.backend.errors import bad_request, invalid, unknown_value
from assistant.vocabulary import CHANNELS, SEXES, SPECIALTIES, URGENCIES

MAX_TEXT = 2000
MAX_REF = 64

# Plausible human ranges. Outside them a value is a typo or a mis-hearing,
# and the worker is asked again rather than a wrong record being saved.
VITAL_RANGES: dict[str, tuple[float, float, str]] = {
    "systolic_bp": (50, 260, "mmHg"),
    "diastolic_bp": (30, 160, "mmHg"),
    "temperature_c": (30.0, 45.0, "°C"),
    "pulse": (20, 250, "beats/min"),
    "spo2": (50, 100, "%"),
    "weight_kg": (0.3, 300, "kg"),
    "respiratory_rate": (5, 80, "breaths/min"),
}
INTEGER_VITALS = {"systolic_bp", "diastolic_bp", "pulse", "spo2", "respiratory_rate"}
AGE_RANGE = (0, 120)
# An unlabelled temperature in this band can only be Fahrenheit.
FAHRENHEIT_BAND = (86.0, 113.0)


async def read_json_object(request: web.Request, *, allow_empty: bool = False) -> dict[str, Any]:
    raw = await request.read()  # raises 413 past client_max_size
    if not raw.strip():
        if allow_empty:
            return {}
        raise bad_request("The request body is empty; send a JSON object.")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"The request body is not valid JSON ({exc.__class__.__name__}).") from exc
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body


def _text(body: dict[str, Any], name: str, *, required: bool, limit: int = MAX_TEXT) -> Optional[str]:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise invalid(name, f"{name} is required.")
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise invalid(name, f"{name} must be text.")
    text = str(value).strip()
    if len(text) > limit:
        raise invalid(name, f"{name} is longer than {limit} characters.")
    return text


def _choice(body: dict[str, Any], name: str, allowed: Iterable[str], *, required: bool, default: Optional[str] = None) -> Optional[str]:
    value = _text(body, name, required=required and default is None, limit=64)
    if value is None:
        return default
    normalised = value.lower()
    allowed = list(allowed)
    if normalised not in allowed:
        raise unknown_value(name, value, allowed)
    return normalised


def _number(container: dict[str, Any], name: str, label: Optional[str] = None) -> Optional[float]:
    value = container.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise invalid(label or name, f"{label or name} must be a number.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise invalid(label or name, f"{label or name} must be a number, not {value!r}.") from None
    if not math.isfinite(number):
        raise invalid(label or name, f"{label or name} must be a finite number.")
    return number


@dataclass
class ConsultRequest:
    patient_ref: str
    specialty: str
    urgency: str
    reason: Optional[str]
    channel: str
    conversation_id: Optional[str]


def parse_consult(body: dict[str, Any]) -> ConsultRequest:
    return ConsultRequest(
        patient_ref=_text(body, "patient_ref", required=True, limit=MAX_REF),  # type: ignore[arg-type]
        specialty=_choice(body, "specialty", SPECIALTIES, required=True),  # type: ignore[arg-type]
        urgency=_choice(body, "urgency", URGENCIES, required=False, default="routine"),  # type: ignore[arg-type]
        reason=_text(body, "reason", required=False, limit=500),
        channel=_choice(body, "channel", CHANNELS, required=False, default="api"),  # type: ignore[arg-type]
        conversation_id=_text(body, "conversation_id", required=False, limit=128),
    )


@dataclass
class EncounterRequest:
    patient_ref: str
    age_years: Optional[float]
    sex: Optional[str]
    complaint: Optional[str]
    vitals: dict[str, Optional[float]] = field(default_factory=dict)
    notes: Optional[str] = None
    channel: str = "api"
    conversation_id: Optional[str] = None


def _temperature_c(vitals: dict[str, Any]) -> Optional[float]:
    value = _number(vitals, "temperature", "vitals.temperature")
    if value is None:
        return None
    unit = vitals.get("temperature_unit")
    if unit is not None and str(unit).upper() not in ("C", "F"):
        raise unknown_value("vitals.temperature_unit", unit, ["C", "F"])
    if unit is None:
        unit = "F" if FAHRENHEIT_BAND[0] <= value <= FAHRENHEIT_BAND[1] else "C"
    celsius = (value - 32) * 5 / 9 if str(unit).upper() == "F" else value
    return round(celsius, 1)


def parse_vitals(raw: Any) -> dict[str, Optional[float]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise invalid("vitals", "vitals must be an object, for example {\"systolic_bp\": 120}.")
    allowed = set(VITAL_RANGES) - {"temperature_c"} | {"temperature", "temperature_unit"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise unknown_value("vitals", unknown[0], sorted(allowed))
    vitals: dict[str, Optional[float]] = {
        name: _number(raw, name, f"vitals.{name}") for name in VITAL_RANGES if name != "temperature_c"
    }
    vitals["temperature_c"] = _temperature_c(raw)
    for name, value in vitals.items():
        if value is None:
            continue
        low, high, unit = VITAL_RANGES[name]
        if not low <= value <= high:
            label = "temperature" if name == "temperature_c" else name
            raise invalid(f"vitals.{label}", f"{label} {value:g} is impossible; expected {low:g} to {high:g} {unit}.")
        if name in INTEGER_VITALS:
            vitals[name] = round(value)
    systolic, diastolic = vitals.get("systolic_bp"), vitals.get("diastolic_bp")
    if systolic is not None and diastolic is not None and diastolic >= systolic:
        raise invalid("vitals.diastolic_bp", "Diastolic pressure must be lower than systolic.")
    return vitals


def parse_encounter(body: dict[str, Any]) -> EncounterRequest:
    age = _number(body, "age")
    if age is not None and not AGE_RANGE[0] <= age <= AGE_RANGE[1]:
        raise invalid("age", f"age {age:g} is impossible; expected {AGE_RANGE[0]} to {AGE_RANGE[1]} years.")
    return EncounterRequest(
        patient_ref=_text(body, "patient_ref", required=True, limit=MAX_REF),  # type: ignore[arg-type]
        age_years=age,
        sex=_choice(body, "sex", SEXES, required=False),
        complaint=_text(body, "complaint", required=False),
        vitals=parse_vitals(body.get("vitals")),
        notes=_text(body, "notes", required=False),
        channel=_choice(body, "channel", CHANNELS, required=False, default="api"),  # type: ignore[arg-type]
        conversation_id=_text(body, "conversation_id", required=False, limit=128),
    )


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(name, f"{name} must be a whole number.") from None
    if not low <= value <= high:
        raise invalid(name, f"{name} must be between {low} and {high}.")
    return value


def path_id(request: web.Request, name: str = "id") -> int:
    try:
        return int(request.match_info[name])
    except ValueError:
        raise invalid(name, f"{name} must be a whole number.") from None
