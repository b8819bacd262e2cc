"""The OpenAPI description of the weekly hours and single slots routes (``assistant.backend.availability``).

``assistant.backend.openapi`` merges these into ``/openapi.json``, method by
method: ``/slots`` also has the hub's ``GET``. This module imports nothing of
``openapi`` (which imports it), so its few helpers are its own. The requests
are described by the declarations ``assistant.backend.availability`` checks
them with; the answers by hand.
"""

from __future__ import annotations

from typing import Any

from assistant.backend.availability import CLOCK, HOURS_REQUEST, LAST_WEEKDAY, SINGLE_SLOT_REQUEST, SPECIALIST_ID
from assistant.backend.fields import parameters
from assistant.backend.idempotency import IDEMPOTENCY_KEY
from assistant.backend.validation import RECORD_ID
from assistant.core.rules import SLOT_WINDOW_DAYS

_MANAGERS = "A specialist their own; a coordinator or admin any specialist at a facility they see."


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _answer(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


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


AVAILABILITY_SCHEMAS: dict[str, Any] = {
    **HOURS_REQUEST.components(),
    **SINGLE_SLOT_REQUEST.components(),
    "WeeklyHours": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "specialist_id": {"type": "integer"},
            "weekday": {"type": "integer", "minimum": 0, "maximum": LAST_WEEKDAY, "description": "0 is Monday"},
            "start": CLOCK,
            "end": CLOCK,
            "slot_minutes": {"type": "integer"},
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
            "parameters": parameters(SPECIALIST_ID),
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
            "parameters": parameters(IDEMPOTENCY_KEY),
            "requestBody": HOURS_REQUEST.request_body(),
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
            "parameters": parameters(RECORD_ID),
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
            "parameters": parameters(IDEMPOTENCY_KEY),
            "requestBody": SINGLE_SLOT_REQUEST.request_body(),
            "responses": {"201": _answer(_ref("BookableSlot"), "Created"), **_errors("404", "409", "422")},
        }
    },
    "/slots/{id}": {
        "delete": {
            "summary": "Remove a free slot (409 if a consult holds it)",
            "description": _MANAGERS,
            "parameters": parameters(RECORD_ID),
            "responses": {
                "200": _answer(
                    {"type": "object", "properties": {"id": {"type": "integer"}, "removed": {"type": "boolean"}}}
                ),
                **_errors("404", "409", "422"),
            },
        }
    },
}
