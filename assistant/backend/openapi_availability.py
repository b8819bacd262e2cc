"""The OpenAPI description of the weekly hours and single slots routes (``assistant.backend.availability``).

``assistant.backend.openapi`` merges these into ``/openapi.json``, method by
method: ``/slots`` also has the hub's ``GET``. This module imports nothing of
``openapi`` (which imports it), so its few helpers are its own.
"""

from __future__ import annotations

from typing import Any

from assistant.core.rules import SLOT_MINUTES_RANGE, SLOT_WINDOW_DAYS
from assistant.domain.slot_window import DEFAULT_SLOT_MINUTES, WEEKDAYS

_MANAGERS = "A specialist their own; a coordinator or admin any specialist at a facility they see."


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _answer(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: str) -> dict[str, Any]:
    meaning = {
        "400": "Malformed request",
        "401": "Missing or bad token",
        "403": "Not a specialist, coordinator or admin; or another specialist's",
        "404": "No such record, or not one the caller sees",
        "409": "Overlaps, already there, or held by a consult",
        "422": "Invalid value (error.field names it)",
    }
    return {status: _answer(_ref("Error"), meaning[status]) for status in ("400", "401", "403", *statuses)}


_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
_IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": 200},
    "description": "Same key and body replay the first result; a different body gives 409.",
}
_CLOCK = {"type": "string", "pattern": "^[0-9]{1,2}:[0-9]{2}$", "description": "Local time HH:MM"}
_MINUTES = {
    "type": "integer",
    "minimum": SLOT_MINUTES_RANGE[0],
    "maximum": SLOT_MINUTES_RANGE[1],
    "default": DEFAULT_SLOT_MINUTES,
}

AVAILABILITY_SCHEMAS: dict[str, Any] = {
    "WeeklyHours": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "specialist_id": {"type": "integer"},
            "weekday": {"type": "integer", "minimum": 0, "maximum": 6, "description": "0 Monday ... 6 Sunday"},
            "start": _CLOCK,
            "end": _CLOCK,
            "slot_minutes": {"type": "integer"},
        },
    },
    "WeeklyHoursRequest": {
        "type": "object",
        "required": ["weekday", "start", "end"],
        "properties": {
            "specialist_id": {"type": "integer", "description": "Default: the calling specialist's own record"},
            "weekday": {
                "oneOf": [
                    {"type": "integer", "minimum": 0, "maximum": 6},
                    {"type": "string", "enum": list(WEEKDAYS)},
                ]
            },
            "start": _CLOCK,
            "end": {**_CLOCK, "description": "Local time HH:MM after start (24:00: until midnight)"},
            "slot_minutes": _MINUTES,
        },
    },
    "SingleSlotRequest": {
        "type": "object",
        "required": ["start"],
        "properties": {
            "specialist_id": {"type": "integer", "description": "Default: the calling specialist's own record"},
            "start": {"type": "string", "format": "date-time", "description": "With its offset; in the future"},
            "minutes": _MINUTES,
        },
    },
    "BookableSlot": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "specialist_id": {"type": "integer"},
            "specialist_name": {"type": "string"},
            "specialty": {"type": "string"},
            "start": {"type": "string", "format": "date-time"},
            "end": {"type": "string", "format": "date-time"},
            "free": {"type": "boolean"},
            "availability_id": {"type": "integer", "nullable": True, "description": "null: a single slot"},
        },
    },
}

AVAILABILITY_PATHS: dict[str, Any] = {
    "/availability": {
        "get": {
            "summary": "Weekly hours of a specialist (or, for a coordinator or admin, of every one they see)",
            "description": _MANAGERS,
            "parameters": [{"name": "specialist_id", "in": "query", "schema": {"type": "integer"}}],
            "responses": {
                "200": _answer(
                    {"type": "object", "properties": {"items": {"type": "array", "items": _ref("WeeklyHours")}}}
                ),
                **_errors("404", "422"),
            },
        },
        "post": {
            "summary": f"Add weekly hours; their slots are cut at once, and kept {SLOT_WINDOW_DAYS} days ahead",
            "description": _MANAGERS + " Hours overlapping the specialist's hours that day are a 409.",
            "parameters": [_IDEMPOTENCY],
            "requestBody": _body(_ref("WeeklyHoursRequest")),
            "responses": {
                "201": _answer(
                    {"allOf": [_ref("WeeklyHours"), {"properties": {"slots_added": {"type": "integer"}}}]},
                    "Created",
                ),
                **_errors("404", "409", "422"),
            },
        },
    },
    "/availability/{id}": {
        "delete": {
            "summary": "Remove weekly hours and their future free slots; booked slots stay and are listed",
            "description": _MANAGERS,
            "parameters": [_ID],
            "responses": {
                "200": _answer(
                    {
                        "type": "object",
                        "properties": {
                            "id": {"type": "integer"},
                            "slots_removed": {"type": "integer"},
                            "slots_kept": {"type": "integer", "description": "Booked: the hub reschedules them"},
                            "kept": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "id": {"type": "integer"},
                                        "start": {"type": "string", "format": "date-time"},
                                        "consult_id": {"type": "integer"},
                                    },
                                },
                            },
                        },
                    }
                ),
                **_errors("404", "422"),
            },
        }
    },
    "/slots": {
        "post": {
            "summary": "Add one slot outside the weekly hours",
            "description": _MANAGERS + " A slot starting then, or overlapping one of the specialist's, is a 409.",
            "parameters": [_IDEMPOTENCY],
            "requestBody": _body(_ref("SingleSlotRequest")),
            "responses": {"201": _answer(_ref("BookableSlot"), "Created"), **_errors("404", "409", "422")},
        }
    },
    "/slots/{id}": {
        "delete": {
            "summary": "Remove a free slot (409 if a consult holds it)",
            "description": _MANAGERS,
            "parameters": [_ID],
            "responses": {
                "200": _answer(
                    {"type": "object", "properties": {"id": {"type": "integer"}, "removed": {"type": "boolean"}}}
                ),
                **_errors("404", "409", "422"),
            },
        }
    },
}
