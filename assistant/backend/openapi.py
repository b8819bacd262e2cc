"""The OpenAPI 3 description served at ``/openapi.json`` (a test checks it matches the routes)."""

from __future__ import annotations

from typing import Any

from assistant.core import __version__
from assistant.core.rules import VITAL_RANGES
from assistant.core.vocabulary import CHANNELS, CONSULT_STATUSES, LANGUAGES, SEXES, SPECIALTIES, URGENCIES


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": _json(_ref("Error"), "Malformed request"),
    "401": _json(_ref("Error"), "Missing or bad token"),
    "403": _json(_ref("Error"), "Wrong role"),
    "422": _json(_ref("Error"), "Invalid or unknown value"),
}
ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": 200},
    "description": "Same key and body replay the first result; a different body gives 409.",
}
ON_BEHALF = {
    "name": "X-On-Behalf-Of",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "Service tokens only: the worker id the request is made for.",
}
PAGING = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
]


def _query(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema or {"type": "string"}}


def _page_of(name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"items": {"type": "array", "items": _ref(name)}, "total": {"type": "integer"}},
    }


SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "field": {"type": "string"},
                    "allowed": {"type": "array", "items": {"type": "string"}},
                },
            }
        },
    },
    "ConsultRequest": {
        "type": "object",
        "required": ["patient_ref", "specialty"],
        "properties": {
            "patient_ref": {"type": "string", "maxLength": 64},
            "specialty": {"type": "string", "enum": list(SPECIALTIES)},
            "urgency": {"type": "string", "enum": list(URGENCIES), "default": "routine"},
            "reason": {"type": "string", "maxLength": 500},
            "channel": {"type": "string", "enum": list(CHANNELS)},
            "conversation_id": {"type": "string"},
        },
    },
    "Consult": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "patient_ref": {"type": "string"},
            "specialty": {"type": "string"},
            "urgency": {"type": "string"},
            "status": {"type": "string", "enum": list(CONSULT_STATUSES)},
            "requested_by": {"type": "string"},
            "facility_id": {"type": "string"},
            "specialist": {"type": "object", "nullable": True},
            "scheduled_for": {"type": "string", "format": "date-time", "nullable": True},
            "call_link": {"type": "string", "nullable": True},
            "hub_queue": {"type": "boolean"},
            "advice": {"type": "string", "nullable": True},
        },
    },
    "Vitals": {
        "type": "object",
        "properties": {
            **{
                name: {"type": "number", "minimum": low, "maximum": high, "description": unit}
                for name, (low, high, unit) in VITAL_RANGES.items()
                if name != "temperature_c"
            },
            "temperature": {"type": "number", "description": "°C, or °F (unit given or inferred from 86-113)"},
            "temperature_unit": {"type": "string", "enum": ["C", "F"]},
        },
    },
    "EncounterRequest": {
        "type": "object",
        "required": ["patient_ref"],
        "properties": {
            "patient_ref": {"type": "string", "maxLength": 64},
            "age": {"type": "number", "minimum": 0, "maximum": 120},
            "sex": {"type": "string", "enum": list(SEXES)},
            "complaint": {"type": "string"},
            "vitals": _ref("Vitals"),
            "notes": {"type": "string"},
            "channel": {"type": "string", "enum": list(CHANNELS)},
            "conversation_id": {"type": "string"},
        },
    },
    "Encounter": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "patient_ref": {"type": "string"},
            "age": {"type": "number", "nullable": True},
            "sex": {"type": "string", "nullable": True},
            "complaint": {"type": "string", "nullable": True},
            "vitals": {"type": "object"},
            "worker_id": {"type": "string"},
            "facility_id": {"type": "string"},
        },
    },
    "Checklist": {
        "type": "object",
        "properties": {
            "slug": {"type": "string"},
            "lang": {"type": "string", "enum": list(LANGUAGES)},
            "title": {"type": "string"},
            "source": {"type": "object"},
            "steps": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "number": {"type": "integer"},
                        "text": {"type": "string"},
                        "caution": {"type": "boolean"},
                    },
                },
            },
        },
    },
}

PATHS: dict[str, Any] = {
    "/health": {
        "get": {
            "summary": "Liveness and database check",
            "security": [],
            "responses": {"200": _json({"type": "object"})},
        }
    },
    "/openapi.json": {
        "get": {"summary": "This description", "security": [], "responses": {"200": _json({"type": "object"})}}
    },
    "/specialties": {
        "get": {"summary": "Canonical specialties", "responses": {"200": _json({"type": "object"}), **ERRORS}}
    },
    "/checklists": {
        "get": {"summary": "Procedure checklists", "responses": {"200": _json({"type": "object"}), **ERRORS}}
    },
    "/checklists/{slug}": {
        "get": {
            "summary": "One checklist in English or Hindi",
            "parameters": [
                {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}},
                _query("lang", {"type": "string", "enum": list(LANGUAGES)}),
            ],
            "responses": {"200": _json(_ref("Checklist")), **ERRORS},
        }
    },
    "/consults": {
        "post": {
            "summary": "Request a consult; booked by specialty and urgency",
            "parameters": [IDEMPOTENCY, ON_BEHALF],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ConsultRequest")}}},
            "responses": {"201": _json(_ref("Consult"), "Created"), "409": _json(_ref("Error")), **ERRORS},
        },
        "get": {
            "summary": "Consults visible to the caller",
            "parameters": [
                _query("requested_by"),
                _query("status", {"type": "string", "enum": list(CONSULT_STATUSES)}),
                _query("patient_ref"),
                *PAGING,
            ],
            "responses": {"200": _json(_page_of("Consult")), **ERRORS},
        },
    },
    "/consults/{id}": {
        "get": {
            "summary": "One consult",
            "parameters": [ID_PARAM],
            "responses": {"200": _json(_ref("Consult")), "404": _json(_ref("Error")), **ERRORS},
        }
    },
    "/consults/{id}/cancel": {
        "post": {
            "summary": "Cancel a requested or scheduled consult",
            "parameters": [ID_PARAM, IDEMPOTENCY, ON_BEHALF],
            "requestBody": {
                "required": False,
                "content": {
                    "application/json": {"schema": {"type": "object", "properties": {"reason": {"type": "string"}}}}
                },
            },
            "responses": {
                "200": _json(_ref("Consult")),
                "404": _json(_ref("Error")),
                "409": _json(_ref("Error")),
                **ERRORS,
            },
        }
    },
    "/encounters": {
        "post": {
            "summary": "Log a patient encounter",
            "parameters": [IDEMPOTENCY, ON_BEHALF],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("EncounterRequest")}}},
            "responses": {"201": _json(_ref("Encounter"), "Created"), "409": _json(_ref("Error")), **ERRORS},
        },
        "get": {
            "summary": "Encounters visible to the caller",
            "parameters": [_query("worker"), _query("patient_ref"), *PAGING],
            "responses": {"200": _json(_page_of("Encounter")), **ERRORS},
        },
    },
    "/encounters/{id}": {
        "get": {
            "summary": "One encounter",
            "parameters": [ID_PARAM],
            "responses": {"200": _json(_ref("Encounter")), "404": _json(_ref("Error")), **ERRORS},
        }
    },
    "/encounters/{id}/fhir": {
        "get": {
            "summary": "The encounter as a FHIR R4 Bundle (Encounter + vital-sign Observations, LOINC)",
            "parameters": [ID_PARAM],
            "responses": {
                "200": {
                    "description": "FHIR Bundle",
                    "content": {"application/fhir+json": {"schema": {"type": "object"}}},
                },
                "404": _json(_ref("Error")),
                **ERRORS,
            },
        }
    },
}


# Worker sign-in for the chat channels (assistant/backend/workers.py); service tokens only.
SCHEMAS["Worker"] = {
    "type": "object",
    "properties": {
        **{
            name: {"type": "string", "nullable": name == "designation"}
            for name in ("id", "name", "role", "facility_id", "designation")
        },
        "active": {"type": "boolean"},
    },
}
PATHS["/auth/pin"] = {
    "post": {
        "summary": "Check a worker's PIN (5 wrong in a row lock the worker out for 15 minutes)",
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["worker_id", "pin"],
                        "properties": {
                            "worker_id": {"type": "string"},
                            "pin": {"type": "string", "pattern": "^[0-9]{4,8}$"},
                        },
                    }
                }
            },
        },
        "responses": {
            "200": _json({"type": "object", "properties": {"worker": _ref("Worker")}}),
            "423": _json(_ref("Error"), "Locked out; error.retry_after gives the seconds left"),
            **ERRORS,
        },
    }
}
PATHS["/workers/resolve"] = {
    "post": {
        "summary": "The registered worker behind a messaging identity (WhatsApp number or business-scoped user id)",
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["channel"],
                        "properties": {
                            "channel": {"type": "string", "enum": ["whatsapp"]},
                            "phone": {"type": "string"},
                            "user_id": {"type": "string"},
                        },
                    }
                }
            },
        },
        "responses": {
            "200": _json({"type": "object", "properties": {"worker": _ref("Worker")}}),
            "404": _json(_ref("Error")),
            **ERRORS,
        },
    }
}


PATHS["/me"] = {
    "get": {
        "summary": "Who the token belongs to: its role and, for a person, the worker (active or not)",
        "responses": {
            "200": _json(
                {
                    "type": "object",
                    "properties": {"role": {"type": "string"}, "worker": {**_ref("Worker"), "nullable": True}},
                }
            ),
            **ERRORS,
        },
    }
}
PATHS["/workers/{id}"] = {
    "get": {
        "summary": "One worker, active or not (service, supervisor within their facilities, admin)",
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {
            "200": _json({"type": "object", "properties": {"worker": _ref("Worker")}}),
            "404": _json(_ref("Error")),
            **ERRORS,
        },
    }
}


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Field assistant scheduling backend", "version": __version__},
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": PATHS,
    }
