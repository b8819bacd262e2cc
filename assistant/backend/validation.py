"""Turning request bodies into validated values, with a precise 4xx for anything wrong."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from assistant.backend.errors import bad_request, invalid, unknown_value
from assistant.core.rules import (
    AGE_RANGE,
    CONTROL_CHARACTERS,
    FAHRENHEIT_BAND,
    INTEGER_VITALS,
    MAX_ID,
    MAX_REF,
    MAX_TEXT,
    VITAL_RANGES,
)
from assistant.core.spoken_times import parse_iso
from assistant.core.vocabulary import CHANNELS, SEXES, SPECIALTIES, URGENCIES

# Times and dates outside these years are typos (and near the ends of the calendar, date arithmetic overflows).
YEARS = (2000, 2999)


async def read_json_object(request: web.Request, *, allow_empty: bool = False) -> dict[str, Any]:
    raw = await request.read()  # raises 413 past client_max_size
    if not raw.strip():
        if allow_empty:
            return {}
        raise bad_request("The request body is empty; send a JSON object.")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested too deep
        raise bad_request(f"The request body is not valid JSON ({exc.__class__.__name__}).") from exc
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body


def _text(body: dict[str, Any], name: str, *, required: bool, limit: int = MAX_TEXT) -> str | None:
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
    if CONTROL_CHARACTERS.search(text):
        raise invalid(name, f"{name} must not contain control characters.")
    return text


def optional_text(body: dict[str, Any], name: str, limit: int = MAX_TEXT) -> str | None:
    """A text field that may be left out (``None``), checked like every other."""
    return _text(body, name, required=False, limit=limit)


def required_text(body: dict[str, Any], name: str, limit: int = MAX_TEXT) -> str:
    """A text field that must be given, checked like every other."""
    text = _text(body, name, required=True, limit=limit)
    assert text is not None  # _text raises when a required value is missing
    return text


def optional_choice(container: Mapping[str, Any], name: str, allowed: Iterable[str]) -> str | None:
    """One of ``allowed`` (any case), or ``None`` when left out; an unknown value names the allowed ones."""
    return _choice({name: container.get(name)}, name, allowed, required=False)


def _given_choice(body: dict[str, Any], name: str, allowed: Iterable[str], *, default: str | None = None) -> str:
    """A choice that is required, or has a default."""
    value = _choice(body, name, allowed, required=default is None, default=default)
    assert value is not None  # _choice raises when a required value is missing
    return value


def _choice(
    body: dict[str, Any], name: str, allowed: Iterable[str], *, required: bool, default: str | None = None
) -> str | None:
    value = _text(body, name, required=required and default is None, limit=64)
    if value is None:
        return default
    normalised = value.lower()
    allowed = list(allowed)
    if normalised not in allowed:
        raise unknown_value(name, value, allowed)
    return normalised


def _number(container: dict[str, Any], name: str, label: str | None = None) -> float | None:
    value = container.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise invalid(label or name, f"{label or name} must be a number.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise invalid(label or name, f"{label or name} must be a number, not {str(value)[:40]!r}.") from None
    except OverflowError:  # 10**400: a number, but no float can hold it
        raise invalid(label or name, f"{label or name} is far out of range.") from None
    if not math.isfinite(number):
        raise invalid(label or name, f"{label or name} must be a finite number.")
    return number


@dataclass
class ConsultRequest:
    patient_ref: str
    specialty: str
    urgency: str
    reason: str | None
    channel: str
    conversation_id: str | None


def parse_consult(body: dict[str, Any]) -> ConsultRequest:
    return ConsultRequest(
        patient_ref=required_text(body, "patient_ref", limit=MAX_REF),
        specialty=_given_choice(body, "specialty", SPECIALTIES),
        urgency=_given_choice(body, "urgency", URGENCIES, default="routine"),
        reason=_text(body, "reason", required=False, limit=500),
        channel=_given_choice(body, "channel", CHANNELS, default="api"),
        conversation_id=_text(body, "conversation_id", required=False, limit=128),
    )


@dataclass
class EncounterRequest:
    patient_ref: str
    age_years: float | None
    sex: str | None
    complaint: str | None
    vitals: dict[str, float | None] = field(default_factory=dict)
    notes: str | None = None
    channel: str = "api"
    conversation_id: str | None = None


def _temperature_c(vitals: dict[str, Any]) -> float | None:
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


def parse_vitals(raw: Any) -> dict[str, float | None]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise invalid("vitals", 'vitals must be an object, for example {"systolic_bp": 120}.')
    allowed = set(VITAL_RANGES) - {"temperature_c"} | {"temperature", "temperature_unit"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise unknown_value("vitals", unknown[0], sorted(allowed))
    vitals: dict[str, float | None] = {
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
        patient_ref=required_text(body, "patient_ref", limit=MAX_REF),
        age_years=age,
        sex=_choice(body, "sex", SEXES, required=False),
        complaint=_text(body, "complaint", required=False),
        vitals=parse_vitals(body.get("vitals")),
        notes=_text(body, "notes", required=False),
        channel=_given_choice(body, "channel", CHANNELS, default="api"),
        conversation_id=_text(body, "conversation_id", required=False, limit=128),
    )


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    return _bounded_int(raw, name, low, high)


def path_id(request: web.Request, name: str = "id") -> int:
    """A record id from the path: 1 to ``MAX_ID``, as every database here stores it."""
    return _bounded_int(request.match_info[name], name, 1, MAX_ID)


def _bounded_int(raw: str, name: str, low: int, high: int) -> int:
    if not raw.isascii() or not raw.lstrip("-").isdigit() or len(raw) > 20:
        raise invalid(name, f"{name} must be a whole number.")
    value = int(raw)
    if not low <= value <= high:
        raise invalid(name, f"{name} must be between {low} and {high}.")
    return value


def optional_id(body: Mapping[str, Any], name: str) -> int | None:
    """A record id given in a body (1 to ``MAX_ID``), or ``None`` when left out."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise invalid(name, f"{name} must be a whole number.")
    return _bounded_int(str(value).strip(), name, 1, MAX_ID)


def query_id(request: web.Request, name: str) -> int | None:
    """A record id in the query string, or ``None`` when left out."""
    return optional_id({name: request.query.get(name) or None}, name)


def _in_years(value: dt.date, name: str) -> None:
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise invalid(name, f"{name} must be in the years {YEARS[0]} to {YEARS[1]}.")


def moment(value: Any, name: str) -> dt.datetime:
    """An ISO-8601 time with its UTC offset (``Z`` or ``+05:30``), as aware UTC."""
    example = f"{name} must be an ISO-8601 time with its offset, for example 2024-05-01T10:30:00+05:30."
    if not isinstance(value, str) or len(value) > 40:
        raise invalid(name, example)
    try:
        parsed = parse_iso(value.strip())
    except ValueError:
        raise invalid(name, example) from None
    if parsed.tzinfo is None:
        raise invalid(name, f"{name} needs its UTC offset (Z or +05:30): a time alone is ambiguous.")
    _in_years(parsed, name)
    return parsed.astimezone(dt.timezone.utc)


def query_moment(request: web.Request, name: str, default: dt.datetime) -> dt.datetime:
    raw = request.query.get(name)
    return default if raw is None or raw == "" else moment(raw, name)


def query_date(request: web.Request, name: str, default: dt.date) -> dt.date:
    """A calendar date ``YYYY-MM-DD`` in the query string."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        day = dt.date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise invalid(name, f"{name} must be a date YYYY-MM-DD.")
    _in_years(day, name)
    return day


FLAGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def query_flag(request: web.Request, name: str, default: bool) -> bool:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() not in FLAGS:
        raise invalid(name, f"{name} must be true or false.")
    return FLAGS[raw.lower()]
