"""The OpenAPI 3 description served at ``/openapi.json``.

What a request may say (bodies, query, path and header parameters) is
generated from the declarations the handlers check requests with
(``assistant.backend.fields``); only the answers, and each operation's
summary, are described by hand here, their enums from the vocabulary.
Tests check that it matches the routes (``test_fhir_openapi``) and that
every bound it documents is the one enforced (``test_documented_limits``).
"""

from __future__ import annotations

from typing import Any

from assistant.backend import catalog, consults, encounters, hub_routes, task_routes, workers
from assistant.backend.auth import ON_BEHALF_HEADER
from assistant.backend.fields import Body, parameters
from assistant.backend.idempotency import IDEMPOTENCY_KEY
from assistant.backend.listing import PAGING
from assistant.backend.openapi_availability import AVAILABILITY_PATHS, AVAILABILITY_SCHEMAS
from assistant.backend.validation import CONSULT_REQUEST, ENCOUNTER_REQUEST, RECORD_ID
from assistant.core import __version__
from assistant.core.rules import LOCKOUT, MAX_FAILED_ATTEMPTS, TASK_STATES
from assistant.core.vocabulary import CHANNELS, CONSULT_STATUSES, LANGUAGES, NOTICE_EVENTS, QUEUE_REASONS, SPECIALTIES


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
FHIR_BUNDLE = {
    "description": "FHIR Bundle",
    "content": {"application/fhir+json": {"schema": {"type": "object"}}},
}
ID_PARAM = RECORD_ID.describe()
IDEMPOTENCY = IDEMPOTENCY_KEY.describe()
# Read by the authentication (assistant.backend.auth), which answers 403 for anyone but an active worker.
ON_BEHALF = {
    "name": ON_BEHALF_HEADER,
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "Service tokens only: the worker id the request is made for.",
}
# Every request body, described by the declaration that checks it.
REQUEST_BODIES: tuple[Body, ...] = (
    CONSULT_REQUEST,
    ENCOUNTER_REQUEST,
    consults.CANCEL_REQUEST,
    workers.PIN_LOGIN,
    workers.RESOLVE_REQUEST,
    hub_routes.SLOT_CHOICE,
    hub_routes.REFERRAL,
    hub_routes.COMPLETION,
    hub_routes.DELIVERY,
    task_routes.NEW_TASK,
    task_routes.DONE,
    task_routes.CANCEL,
)


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
    "Consult": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "patient_ref": {"type": "string"},
            "specialty": {"type": "string"},
            "urgency": {"type": "string"},
            "reason": {"type": "string", "nullable": True},
            "status": {"type": "string", "enum": list(CONSULT_STATUSES)},
            "requested_by": {"type": "string"},
            "facility_id": {"type": "string"},
            "specialist": {"type": "object", "nullable": True},
            "scheduled_for": {"type": "string", "format": "date-time", "nullable": True},
            "call_link": {"type": "string", "nullable": True},
            "hub_queue": {"type": "boolean"},
            "hub_id": {"type": "string", "nullable": True, "description": "The hub whose desk handles it"},
            "queue_reason": {
                "type": "string",
                "nullable": True,
                "enum": [*QUEUE_REASONS, None],
                "description": "Why it waits in the hub's queue",
            },
            "referral": {
                "type": "object",
                "nullable": True,
                "description": "Set once a coordinator referred it to this hub",
                "properties": {
                    "from_hub": {"type": "string", "nullable": True},
                    "reason": {"type": "string"},
                    "by": {"type": "string"},
                    "at": {"type": "string", "format": "date-time"},
                },
            },
            "advice": {"type": "string", "nullable": True},
            "channel": {"type": "string", "enum": list(CHANNELS)},
            "conversation_id": {"type": "string", "nullable": True},
            "cancel_reason": {"type": "string", "nullable": True},
            "cancelled_by": {"type": "string", "nullable": True},
            "specialist_advice": {
                "type": "string",
                "nullable": True,
                "description": "The specialist's own words, as written when completing the consult",
            },
            "follow_up": {"type": "string", "nullable": True},
            "closed_by": {"type": "string", "nullable": True},
            **{
                name: {"type": "string", "format": "date-time", "nullable": name != "created_at"}
                for name in ("closed_at", "created_at", "updated_at", "cancelled_at")
            },
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
    "/metrics": {
        "get": {
            "summary": "Figures in the Prometheus text format (docs/operations.md)",
            "description": "This machine may read them; another needs `Authorization: Bearer <metrics token>` "
            "(not an API token).",
            "security": [],
            "responses": {
                "200": {
                    "description": "Prometheus text format",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                "403": {"description": "Another machine, without the metrics token"},
            },
        }
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
            "parameters": parameters(catalog.SLUG, catalog.LANG),
            "responses": {"200": _json(_ref("Checklist")), **ERRORS},
        }
    },
    "/consults": {
        "post": {
            "summary": "Request a consult; booked by specialty and urgency",
            "parameters": [IDEMPOTENCY, ON_BEHALF],
            "requestBody": CONSULT_REQUEST.request_body(),
            "responses": {"201": _json(_ref("Consult"), "Created"), "409": _json(_ref("Error")), **ERRORS},
        },
        "get": {
            "summary": "Consults visible to the caller; a specialist's (or, for the desk, a named specialist's) day",
            "description": "With specialist=me|<id> (always, for a specialist) the answer is that specialist's "
            "consults on the local date (default today), each with its context: requesting worker, facility, "
            "the patient's latest encounter and the conversation. A specialist may ask only for their own.",
            "parameters": parameters(
                consults.REQUESTED_BY,
                consults.STATUS,
                consults.PATIENT_REF,
                hub_routes.SPECIALIST,
                hub_routes.DAY,
                *PAGING,
            ),
            "responses": {
                "200": _json({"oneOf": [_page_of("Consult"), _page_of("ConsultInContext")]}),
                **ERRORS,
            },
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
            "description": "A worker (or their supervisor) withdraws it; the reason is optional. The hub desk "
            "(coordinator, admin) must give the reason, which the worker is told. A worker's cancel of a consult "
            "the hub changed since they were last told is 409, with the news (error.notices), which counts as told.",
            "parameters": [ID_PARAM, IDEMPOTENCY, ON_BEHALF],
            "requestBody": consults.CANCEL_REQUEST.request_body(required=False),
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
            "requestBody": ENCOUNTER_REQUEST.request_body(),
            "responses": {"201": _json(_ref("Encounter"), "Created"), "409": _json(_ref("Error")), **ERRORS},
        },
        "get": {
            "summary": "Encounters visible to the caller",
            "parameters": parameters(encounters.WORKER, encounters.PATIENT_REF, *PAGING),
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
            "responses": {"200": FHIR_BUNDLE, "404": _json(_ref("Error")), **ERRORS},
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
        "summary": f"Check a worker's PIN ({MAX_FAILED_ATTEMPTS} wrong in a row lock the worker out for "
        f"{LOCKOUT.total_seconds() / 60:g} minutes)",
        "requestBody": workers.PIN_LOGIN.request_body(),
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
        "requestBody": workers.RESOLVE_REQUEST.request_body(),
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
        "parameters": parameters(workers.WORKER_PATH_ID),
        "responses": {
            "200": _json({"type": "object", "properties": {"worker": _ref("Worker")}}),
            "404": _json(_ref("Error")),
            **ERRORS,
        },
    }
}


# --- The hub desk (assistant/backend/hub_routes.py) --------------------------------------------

NOT_FOUND = {"404": _json(_ref("Error"), "No such record, or not visible to the caller")}
CONFLICT = {"409": _json(_ref("Error"), "The record is no longer in a state that allows this")}

SCHEMAS["QueuedConsult"] = {
    "allOf": [
        _ref("Consult"),
        {"type": "object", "properties": {"waiting_seconds": {"type": "integer", "minimum": 0}}},
    ]
}
SCHEMAS["ConsultInContext"] = {
    "allOf": [
        _ref("Consult"),
        {
            "type": "object",
            "properties": {
                "worker": {"type": "object", "nullable": True},
                "facility": {"type": "object", "nullable": True},
                "latest_encounter": {**_ref("Encounter"), "nullable": True},
                "conversation": {"type": "string", "description": "The console's page of the conversation"},
            },
        },
    ]
}
SCHEMAS["Slot"] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "specialist_id": {"type": "integer"},
        "specialist_name": {"type": "string"},
        "specialty": {"type": "string", "enum": list(SPECIALTIES)},
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
        "free": {"type": "boolean", "description": "Only when free=false was asked"},
    },
}
SCHEMAS["Notice"] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "consult_id": {"type": "integer", "nullable": True, "description": "None: a reminder of a worker's own task"},
        "task_id": {"type": "integer", "nullable": True, "description": "The task a task_due reminder is of"},
        "worker_id": {"type": "string"},
        "event": {"type": "string", "enum": list(NOTICE_EVENTS)},
        "channel": {"type": "string", "enum": list(CHANNELS)},
        "text": {"type": "object", "properties": {language: {"type": "string"} for language in LANGUAGES}},
        "created_at": {"type": "string", "format": "date-time"},
        "delivered_at": {"type": "string", "format": "date-time", "nullable": True},
        "delivered_via": {"type": "string", "nullable": True},
        "phone": {"type": "string", "nullable": True},
    },
}


def _hub_change(summary: str, body: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "parameters": [ID_PARAM, IDEMPOTENCY],
        "requestBody": body,
        "responses": {"200": _json(_ref("Consult")), **NOT_FOUND, **CONFLICT, **ERRORS},
    }
    return {"post": operation}


PATHS["/hub/queue"] = {
    "get": {
        "summary": "Consults waiting for the hub (coordinator, admin): emergency, urgent, routine, then oldest",
        "parameters": parameters(hub_routes.QUEUE_LIMIT),
        "responses": {"200": _json(_page_of("QueuedConsult")), **ERRORS},
    }
}
PATHS["/slots"] = {
    "get": {
        "summary": "Specialists' slots (a coordinator their hub's, an admin all, a specialist their own)",
        "parameters": parameters(*hub_routes.SLOTS_QUERY),
        "responses": {
            "200": _json({"type": "object", "properties": {"items": {"type": "array", "items": _ref("Slot")}}}),
            **ERRORS,
        },
    }
}
PATHS["/consults/{id}/assign"] = _hub_change(
    "Schedule a requested consult on a free slot of its specialty (coordinator, admin); the worker is told",
    hub_routes.SLOT_CHOICE.request_body(),
)
PATHS["/consults/{id}/reschedule"] = _hub_change(
    "Move a scheduled consult to another free slot (coordinator, admin); the worker is told",
    hub_routes.SLOT_CHOICE.request_body(),
)
PATHS["/consults/{id}/refer"] = _hub_change(
    "Send a consult to another hub's queue, with a reason (coordinator of its hub, admin); the worker is told",
    hub_routes.REFERRAL.request_body(),
)
PATHS["/consults/{id}/complete"] = _hub_change(
    "The consult took place: the specialist's advice, stored as written (assigned specialist, coordinator, admin)",
    hub_routes.COMPLETION.request_body(),
)
PATHS["/consults/{id}/no_show"] = _hub_change(
    "Nobody joined the call (assigned specialist, coordinator, admin); the worker is told",
    {"required": False, "content": {"application/json": {"schema": {"type": "object"}}}},  # nothing is read
)
PATHS["/consults/{id}/fhir"] = {
    "get": {
        "summary": "The consult as a FHIR R4 Bundle (ServiceRequest, and its Appointment once scheduled)",
        "parameters": [ID_PARAM],
        "responses": {"200": FHIR_BUNDLE, **NOT_FOUND, **ERRORS},
    }
}
PATHS["/notices"] = {
    "get": {
        "summary": "Hub notices not yet delivered to workers, oldest first (service token)",
        "parameters": parameters(hub_routes.NOTICE_WORKER, hub_routes.NOTICE_CHANNELS, hub_routes.NOTICES_LIMIT),
        "responses": {
            "200": _json({"type": "object", "properties": {"items": {"type": "array", "items": _ref("Notice")}}}),
            **ERRORS,
        },
    }
}
PATHS["/notices/{id}/delivered"] = {
    "post": {
        "summary": "Mark a notice delivered (service token); marking it again changes nothing",
        "parameters": [ID_PARAM, IDEMPOTENCY],
        "requestBody": hub_routes.DELIVERY.request_body(),
        "responses": {"200": _json(_ref("Notice")), **NOT_FOUND, **ERRORS},
    }
}


# --- Follow-up tasks (assistant/backend/task_routes.py) ------------------------------------------

SCHEMAS["Task"] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "task": {"type": "string", "description": "What to do, as the specialist or the worker said it"},
        "patient_ref": {"type": "string"},
        "due": {"type": "string", "format": "date", "description": "The clinic's local date"},
        "state": {"type": "string", "enum": list(TASK_STATES)},
        "overdue": {"type": "boolean", "description": "Open and past due"},
        "days_overdue": {"type": "integer", "minimum": 0},
        "consult_id": {"type": "integer", "nullable": True},
        "checklist": {"type": "string", "nullable": True},
        "worker_id": {"type": "string"},
        "facility_id": {"type": "string"},
        "channel": {"type": "string", "enum": list(CHANNELS)},
        "created_by": {"type": "string"},
        "closed_by": {"type": "string", "nullable": True},
        "encounter_id": {"type": "integer", "nullable": True},
        "reminded_count": {"type": "integer", "minimum": 0},
        "last_reminded_on": {"type": "string", "format": "date", "nullable": True},
        **{
            name: {"type": "string", "format": "date-time", "nullable": name != "created_at"}
            for name in ("created_at", "done_at", "cancelled_at")
        },
    },
}
SCHEMAS["CompletedConsult"] = {
    "allOf": [
        _ref("Consult"),
        {"type": "object", "properties": {"follow_ups": {"type": "array", "items": _ref("Task")}}},
    ]
}
PATHS["/consults/{id}/complete"]["post"]["responses"]["200"] = _json(_ref("CompletedConsult"))
PATHS["/tasks"] = {
    "get": {
        "summary": "Open follow-up tasks, overdue first (a worker their own, a supervisor their facilities')",
        "parameters": parameters(*task_routes.TASKS_QUERY),
        "responses": {
            "200": _json(
                {
                    "type": "object",
                    "properties": {
                        "items": {"type": "array", "items": _ref("Task")},
                        "total": {"type": "integer"},
                        "today": {"type": "string", "format": "date", "description": "The backend's local date"},
                    },
                }
            ),
            **ERRORS,
        },
    },
    "post": {
        "summary": "A worker adds a follow-up task for themselves",
        "parameters": [IDEMPOTENCY, ON_BEHALF],
        "requestBody": task_routes.NEW_TASK.request_body(),
        "responses": {"201": _json(_ref("Task"), "Created"), "409": _json(_ref("Error")), **ERRORS},
    },
}
PATHS["/tasks/{id}"] = {
    "get": {
        "summary": "One follow-up task",
        "parameters": [ID_PARAM],
        "responses": {"200": _json(_ref("Task")), **NOT_FOUND, **ERRORS},
    }
}
PATHS["/tasks/{id}/fhir"] = {
    "get": {
        "summary": "The task as a FHIR R4 Task (basedOn its consult's ServiceRequest; output: the visit, once done)",
        "parameters": [ID_PARAM],
        "responses": {
            "200": {"description": "FHIR Task", "content": {"application/fhir+json": {"schema": {"type": "object"}}}},
            **NOT_FOUND,
            **ERRORS,
        },
    }
}
for _state, _body, _summary in (
    ("done", task_routes.DONE, "Mark one's own open task done, linking the visit that did it (optional)"),
    ("cancel", task_routes.CANCEL, "Cancel one's own open task"),
):
    PATHS[f"/tasks/{{id}}/{_state}"] = {
        "post": {
            "summary": _summary,
            "parameters": [ID_PARAM, IDEMPOTENCY, ON_BEHALF],
            "requestBody": _body.request_body(required=False),
            "responses": {"200": _json(_ref("Task")), **NOT_FOUND, **CONFLICT, **ERRORS},
        }
    }


def all_paths() -> dict[str, Any]:
    """Ours and the availability routes', merged operation by operation (both may describe one path)."""
    merged: dict[str, Any] = {path: dict(operations) for path, operations in PATHS.items()}
    for path, operations in AVAILABILITY_PATHS.items():
        merged.setdefault(path, {}).update(operations)
    return merged


def request_schemas() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for body in REQUEST_BODIES:
        found.update(body.components())
    return found


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Field assistant scheduling backend", "version": __version__},
        "components": {
            "schemas": {**SCHEMAS, **request_schemas(), **AVAILABILITY_SCHEMAS},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": all_paths(),
    }
