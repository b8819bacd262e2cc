"""An encounter as a FHIR R4 ``Bundle``: one ``Encounter`` plus one ``Observation`` per vital.

Codes follow the FHIR vital-signs profile (LOINC codes, UCUM units). The
patient is referenced by identifier, because the assistant never holds a
Patient resource, only the reference the worker gave.
"""

from __future__ import annotations

import uuid
from typing import Any

from assistant.core.db.models import Encounter
from assistant.core.records import iso

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
PATIENT_REF_SYSTEM = "urn:field-assistant:patient-ref"
ENCOUNTER_ID_SYSTEM = "urn:field-assistant:encounter"
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


def _observation(encounter: Encounter, encounter_urn: str, code: dict[str, Any], **value: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [VITAL_SIGNS_CATEGORY],
        "code": code,
        "subject": {"identifier": {"system": PATIENT_REF_SYSTEM, "value": encounter.patient_ref}},
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
        "subject": {"identifier": {"system": PATIENT_REF_SYSTEM, "value": encounter.patient_ref}},
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
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": iso(encounter.updated_at),
        "entry": entries,
    }
