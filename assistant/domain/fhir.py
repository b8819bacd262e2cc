"""Records as FHIR R4 ``Bundle`` s (type ``collection``).

- An encounter: one ``Encounter`` plus one ``Observation`` per vital. Codes
  follow the FHIR vital-signs profile (LOINC codes, UCUM units).
- A consult: a ``ServiceRequest`` (the worker's request to the hub) and, once
  the hub has given it a time, the ``Appointment`` based on it.
- A follow-up task: one ``Task`` (not a Bundle), ``basedOn`` its consult's
  ``ServiceRequest`` (by identifier, as the consult's Bundle names it), with
  the linked visit's ``Encounter`` as its ``output`` once done.

The patient is referenced by identifier, because the assistant never holds a
Patient resource, only the reference the worker gave.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from assistant.core.vocabulary import SPECIALTIES
from assistant.db.models import Consult, Encounter, Task
from assistant.domain.records import iso

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
PATIENT_REF_SYSTEM = "urn:field-assistant:patient-ref"
ENCOUNTER_ID_SYSTEM = "urn:field-assistant:encounter"
CONSULT_ID_SYSTEM = "urn:field-assistant:consult"
TASK_ID_SYSTEM = "urn:field-assistant:task"
WORKER_ID_SYSTEM = "urn:field-assistant:worker"
SPECIALIST_UPN_SYSTEM = "urn:field-assistant:specialist-upn"
VITAL_SIGNS_CATEGORY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs",
            "display": "Vital Signs",
        }
    ]
}
# attribute -> (LOINC code, display, UCUM unit, human unit)
SIMPLE_VITALS: dict[str, tuple[str, str, str, str]] = {
    "temperature_c": ("8310-5", "Body temperature", "Cel", "°C"),
    "pulse": ("8867-4", "Heart rate", "/min", "beats/minute"),
    "spo2": ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", "%"),
    "respiratory_rate": ("9279-1", "Respiratory rate", "/min", "breaths/minute"),
    "weight_kg": ("29463-7", "Body weight", "kg", "kg"),
}
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = ("8480-6", "Systolic blood pressure")
DIASTOLIC = ("8462-4", "Diastolic blood pressure")


def _concept(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display}


def _quantity(value: float, ucum: str, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": ucum}


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _patient(patient_ref: str) -> dict[str, Any]:
    """The patient, by the reference the worker gave (there is no Patient resource to point at)."""
    return {"identifier": {"system": PATIENT_REF_SYSTEM, "value": patient_ref}}


def _bundle(entries: list[dict[str, Any]], updated_at: dt.datetime | None) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "timestamp": iso(updated_at), "entry": entries}


def _observation(encounter: Encounter, encounter_urn: str, code: dict[str, Any], **value: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [VITAL_SIGNS_CATEGORY],
        "code": code,
        "subject": _patient(encounter.patient_ref),
        "encounter": {"reference": encounter_urn},
        "effectiveDateTime": iso(encounter.created_at),
        **value,
    }


def _blood_pressure(encounter: Encounter, encounter_urn: str) -> dict[str, Any] | None:
    components = [
        {"code": _concept(*concept), "valueQuantity": _quantity(value, "mm[Hg]", "mmHg")}
        for concept, value in ((SYSTOLIC, encounter.systolic_bp), (DIASTOLIC, encounter.diastolic_bp))
        if value is not None
    ]
    if not components:
        return None
    return _observation(encounter, encounter_urn, _concept(*BP_PANEL), component=components)


def encounter_bundle(encounter: Encounter) -> dict[str, Any]:
    encounter_urn = _urn()
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "identifier": [{"system": ENCOUNTER_ID_SYSTEM, "value": str(encounter.id)}],
        "status": "finished",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
            "display": "ambulatory",
        },
        "subject": _patient(encounter.patient_ref),
        "period": {"start": iso(encounter.created_at)},
        "serviceProvider": {"identifier": {"value": encounter.facility_id}},
        "participant": [{"individual": {"identifier": {"value": encounter.worker_id}}}],
    }
    if encounter.complaint:
        resource["reasonCode"] = [{"text": encounter.complaint}]
    entries = [{"fullUrl": encounter_urn, "resource": resource}]
    observations = [_blood_pressure(encounter, encounter_urn)]
    for attribute, (code, display, ucum, unit) in SIMPLE_VITALS.items():
        value = getattr(encounter, attribute)
        if value is not None:
            observations.append(
                _observation(
                    encounter, encounter_urn, _concept(code, display), valueQuantity=_quantity(value, ucum, unit)
                )
            )
    entries += [{"fullUrl": _urn(), "resource": obs} for obs in observations if obs is not None]
    return _bundle(entries, encounter.updated_at)


# --- Consults ---------------------------------------------------------------------

# ServiceRequest.status: the request is open until the consult took place or ended otherwise
# (a no-show ends this request too: the worker is asked to make a new one).
REQUEST_STATUS = {
    "requested": "active",
    "scheduled": "active",
    "completed": "completed",
    "cancelled": "revoked",
    "no_show": "revoked",
}
REQUEST_PRIORITY = {"routine": "routine", "urgent": "urgent", "emergency": "stat"}
APPOINTMENT_STATUS = {"scheduled": "booked", "completed": "fulfilled", "cancelled": "cancelled", "no_show": "noshow"}
# An emergency call is booked for "now" without a slot; its Appointment still needs an end (FHIR app-3).
UNSLOTTED_CALL = dt.timedelta(minutes=30)


def _service_request(consult: Consult) -> dict[str, Any]:
    specialty = SPECIALTIES.get(consult.specialty, {}).get("en", consult.specialty)
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "identifier": [{"system": CONSULT_ID_SYSTEM, "value": str(consult.id)}],
        "status": REQUEST_STATUS.get(consult.status, "unknown"),
        "intent": "order",
        "priority": REQUEST_PRIORITY.get(consult.urgency, "routine"),
        "code": {"text": f"Tele-consultation: {specialty}"},
        "subject": _patient(consult.patient_ref),
        "authoredOn": iso(consult.created_at),
        "requester": {"identifier": {"value": consult.requested_by}, "display": consult.requested_by},
        "performerType": {"text": specialty},
    }
    if consult.reason:
        resource["reasonCode"] = [{"text": consult.reason}]
    if consult.status == "completed" and consult.specialist_advice:
        author = consult.specialist.name if consult.specialist is not None else consult.closed_by
        notes = [consult.specialist_advice] + ([f"Follow-up: {consult.follow_up}"] if consult.follow_up else [])
        resource["note"] = [{"authorString": author, "time": iso(consult.closed_at), "text": text} for text in notes]
    return resource


def _appointment(consult: Consult, request_urn: str, ends_at: dt.datetime | None) -> dict[str, Any]:
    start = consult.scheduled_for
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "identifier": [{"system": CONSULT_ID_SYSTEM, "value": str(consult.id)}],
        "status": APPOINTMENT_STATUS.get(consult.status, "booked"),
        "start": iso(start),
        "end": iso(ends_at or start + UNSLOTTED_CALL),
        "basedOn": [{"reference": request_urn}],
        "participant": [],
    }
    if consult.specialist is not None:
        resource["participant"].append(
            {
                "actor": {
                    "identifier": {"system": SPECIALIST_UPN_SYSTEM, "value": consult.specialist.upn},
                    "display": consult.specialist.name,
                },
                "status": "accepted",
            }
        )
    if consult.status == "cancelled" and consult.cancel_reason:
        resource["cancelationReason"] = {"text": consult.cancel_reason}
    return resource


def consult_bundle(consult: Consult, slot_ends_at: dt.datetime | None = None) -> dict[str, Any]:
    """The consult as a ``ServiceRequest``, and its ``Appointment`` once it has a time (ending ``slot_ends_at``)."""
    request_urn = _urn()
    entries = [{"fullUrl": request_urn, "resource": _service_request(consult)}]
    if consult.scheduled_for is not None:
        entries.append({"fullUrl": _urn(), "resource": _appointment(consult, request_urn, slot_ends_at)})
    return _bundle(entries, consult.updated_at)


# --- Follow-up tasks ------------------------------------------------------------------

TASK_STATUS = {"open": "requested", "done": "completed", "cancelled": "cancelled"}


def _consult_request(consult: Consult) -> dict[str, Any]:
    """A reference to the consult's ServiceRequest by its identifier (the two are exported apart)."""
    return {
        "type": "ServiceRequest",
        "identifier": {"system": CONSULT_ID_SYSTEM, "value": str(consult.id)},
        "display": f"Tele-consultation {consult.id}",
    }


def task_resource(task: Task, consult: Consult | None) -> dict[str, Any]:
    """The task as a FHIR R4 ``Task``: for the patient, owned by the worker, due by its local date."""
    due = task.due_on.isoformat()
    resource: dict[str, Any] = {
        "resourceType": "Task",
        "identifier": [{"system": TASK_ID_SYSTEM, "value": str(task.id)}],
        "status": TASK_STATUS.get(task.state, "requested"),
        "intent": "order" if consult is not None else "plan",
        "description": task.what,
        "for": _patient(task.patient_ref),
        "owner": {"identifier": {"system": WORKER_ID_SYSTEM, "value": task.worker_id}, "display": task.worker_id},
        "authoredOn": iso(task.created_at),
        "lastModified": iso(task.updated_at),
        "executionPeriod": {"end": due},
        "restriction": {"period": {"end": due}},
        "location": {"identifier": {"value": task.facility_id}},
    }
    if consult is not None:
        resource["basedOn"] = [_consult_request(consult)]
        if consult.specialist is not None:
            resource["requester"] = {
                "identifier": {"system": SPECIALIST_UPN_SYSTEM, "value": consult.specialist.upn},
                "display": consult.specialist.name,
            }
    if task.state == "done" and task.encounter_id is not None:
        visit = {"system": ENCOUNTER_ID_SYSTEM, "value": str(task.encounter_id)}
        encounter = {"type": "Encounter", "identifier": visit}
        resource["output"] = [{"type": {"text": "The visit that did it"}, "valueReference": encounter}]
    return resource
