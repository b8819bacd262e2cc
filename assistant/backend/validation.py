"""Turning request bodies into validated values, with a precise 4xx for anything wrong.

The clinical records' request shapes (a consult request, an encounter and its
vitals) are declared here with ``assistant.backend.fields``: the same
declarations check a request and describe it in ``/openapi.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from assistant.backend.errors import bad_request, invalid, unknown_value
from assistant.backend.fields import Body, Field, Number, Parameter, Text, choice, record_id
from assistant.core.rules import (
    AGE_RANGE,
    CONSULT_REASON_LIMIT,
    CONVERSATION_ID_LIMIT,
    FAHRENHEIT_BAND,
    INTEGER_VITALS,
    MAX_REF,
    VITAL_RANGES,
)
from assistant.core.unicode_text import lone_surrogate_at, not_unicode_message
from assistant.core.vocabulary import CHANNELS, SEXES, SPECIALTIES, URGENCIES

# The record id in a path (``/consults/{id}``): 1 to ``MAX_ID``.
RECORD_ID = Parameter("path", record_id("id"))
TEMPERATURE_UNITS = ("C", "F")


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
    # Before any field is read: a lone surrogate fails wherever it goes next (the database, a log).
    where = lone_surrogate_at(body)
    if where is not None:
        raise bad_request(not_unicode_message(where), **({"field": where} if where else {}))
    return body


def path_id(request: web.Request) -> int:
    """The record id of the path, checked (``RECORD_ID``)."""
    return int(RECORD_ID.read(request))


PATIENT_REF = Text("patient_ref", limit=MAX_REF, required=True)
CHANNEL = choice(
    "channel", CHANNELS, default="api", description="How the worker was heard; kept only from the assistant"
)
CONVERSATION_ID = Text(
    "conversation_id", limit=CONVERSATION_ID_LIMIT, description="Checked, not kept: a record's is its author's id"
)


@dataclass
class ConsultRequest:
    patient_ref: str
    specialty: str
    urgency: str
    reason: str | None
    channel: str
    conversation_id: str | None


CONSULT_REQUEST = Body(
    "ConsultRequest",
    PATIENT_REF,
    choice("specialty", SPECIALTIES, required=True),
    choice("urgency", URGENCIES, default="routine"),
    Text("reason", limit=CONSULT_REASON_LIMIT),
    CHANNEL,
    CONVERSATION_ID,
)


def parse_consult(body: dict[str, Any]) -> ConsultRequest:
    return ConsultRequest(**CONSULT_REQUEST.parse(body))


# --- Vitals -----------------------------------------------------------------------------

# Each vital but the temperature, which may come in °F: it is converted before its range is checked.
MEASURES = {
    name: Number(name, low, high, unit, field=f"vitals.{name}")
    for name, (low, high, unit) in VITAL_RANGES.items()
    if name != "temperature_c"
}
TEMPERATURE = Number("temperature", *VITAL_RANGES["temperature_c"], field="vitals.temperature")


@dataclass(frozen=True)
class Vitals(Field):
    """The vitals object: each vital in its plausible range (``VITAL_RANGES``), the temperature in °C or °F."""

    def parse(self, value: Any) -> dict[str, float | None]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise invalid("vitals", 'vitals must be an object, for example {"systolic_bp": 120}.')
        allowed = set(MEASURES) | {"temperature", "temperature_unit"}
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise unknown_value("vitals", unknown[0], sorted(allowed))
        # Every value's type first, then every range, then how they relate.
        vitals: dict[str, float | None] = {name: measure.number(value.get(name)) for name, measure in MEASURES.items()}
        vitals["temperature_c"] = _temperature_c(value)
        for name, number in vitals.items():
            if number is None:
                continue
            MEASURES.get(name, TEMPERATURE).check(number)
            if name in INTEGER_VITALS:
                vitals[name] = round(number)
        systolic, diastolic = vitals.get("systolic_bp"), vitals.get("diastolic_bp")
        if systolic is not None and diastolic is not None and diastolic >= systolic:
            raise invalid("vitals.diastolic_bp", "Diastolic pressure must be lower than systolic.")
        return vitals

    def schema(self) -> dict[str, Any]:
        return {"$ref": "#/components/schemas/Vitals"}

    def components(self) -> dict[str, Any]:
        low, high, _ = VITAL_RANGES["temperature_c"]
        band = f"{FAHRENHEIT_BAND[0]:g}-{FAHRENHEIT_BAND[1]:g}"
        temperature = f"°C, {low:g} to {high:g}; or °F, the unit given or, without one, inferred from {band}"
        return {
            "Vitals": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    **{name: measure.schema() for name, measure in MEASURES.items()},
                    "temperature": {"type": "number", "description": temperature},
                    "temperature_unit": {
                        "type": "string",
                        "enum": list(TEMPERATURE_UNITS),
                        "description": "Read only with a temperature",
                    },
                },
            }
        }


def _temperature_c(vitals: dict[str, Any]) -> float | None:
    value = TEMPERATURE.number(vitals.get("temperature"))
    if value is None:
        return None
    unit = vitals.get("temperature_unit")
    if unit is not None and str(unit).upper() not in TEMPERATURE_UNITS:
        raise unknown_value("vitals.temperature_unit", unit, TEMPERATURE_UNITS)
    if unit is None:
        unit = "F" if FAHRENHEIT_BAND[0] <= value <= FAHRENHEIT_BAND[1] else "C"
    celsius = (value - 32) * 5 / 9 if str(unit).upper() == "F" else value
    return round(celsius, 1)


# --- Encounters ---------------------------------------------------------------------------


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


ENCOUNTER_REQUEST = Body(
    "EncounterRequest",
    Number("age", *AGE_RANGE, "years"),
    PATIENT_REF,
    choice("sex", SEXES),
    Text("complaint"),
    Vitals("vitals"),
    Text("notes"),
    CHANNEL,
    CONVERSATION_ID,
)


def parse_encounter(body: dict[str, Any]) -> EncounterRequest:
    said = ENCOUNTER_REQUEST.parse(body)
    return EncounterRequest(
        patient_ref=said["patient_ref"],
        age_years=said["age"],
        sex=said["sex"],
        complaint=said["complaint"],
        vitals=said["vitals"],
        notes=said["notes"],
        channel=said["channel"],
        conversation_id=said["conversation_id"],
    )
