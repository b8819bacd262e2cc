"""Consults and encounters as JSON: the one shape the backend answers with and the console shows.

Times are ISO-8601 UTC with a ``Z``. ``advice`` is what the assistant must
tell the worker besides the booking itself (call 108, queued for the hub);
``specialist_advice`` and ``follow_up`` are what the specialist wrote when
completing the consult, relayed as the specialist's words.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from assistant.core.emergency_advice import emergency_advice
from assistant.core.rules import VITAL_RANGES
from assistant.core.vocabulary import SPECIALTIES
from assistant.db.models import Consult, Encounter

# In English: the API has no language. The assistant tells the worker in their own words and language
# (actions/texts.py), with the same emergency sentences (assistant.core.emergency_advice).
# Why a consult waits at its hub (``consults.queue_reason``), as the API says it.
QUEUED_NOTES = {
    "no_slot": "No free slot; the request is queued for the hub coordinator.",
    "no_specialist": (
        "No specialist of this specialty works at your hub; the request waits in your hub coordinator's queue, "
        "who may refer it to another hub."
    ),
    "no_hub": "No hub serves your facility yet; the request waits until one does. Tell your block office.",
    "referred": "Referred to another hub; the request waits for that hub's coordinator.",
}


def iso(value: dt.datetime | None) -> str | None:
    """ISO-8601 in UTC with a ``Z``, the form every client here parses."""
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def advice_for(consult: Consult) -> str | None:
    """What the worker must be told besides the booking itself."""
    if consult.urgency == "emergency":
        specialty = SPECIALTIES.get(consult.specialty, {}).get("en") or consult.specialty
        return emergency_advice("en", specialty, specialist_booked=consult.specialist_id is not None)
    if consult.status == "requested" and consult.hub_queue:
        return QUEUED_NOTES[consult.queue_reason or "no_slot"]
    return None


def consult_json(consult: Consult) -> dict[str, Any]:
    specialist = consult.specialist
    return {
        "id": consult.id,
        "patient_ref": consult.patient_ref,
        "specialty": consult.specialty,
        "urgency": consult.urgency,
        "reason": consult.reason,
        "status": consult.status,
        "requested_by": consult.requested_by,
        "facility_id": consult.facility_id,
        "specialist": None
        if specialist is None
        else {
            "id": specialist.id,
            "name": specialist.name,
            "specialty": specialist.specialty,
            "upn": specialist.upn,
            "facility_id": specialist.facility_id,
        },
        "scheduled_for": iso(consult.scheduled_for),
        "call_link": consult.call_link,
        "hub_queue": consult.hub_queue,
        "hub_id": consult.hub_id,
        "queue_reason": consult.queue_reason,
        "referral": None
        if consult.referred_at is None
        else {
            "from_hub": consult.referred_from,
            "reason": consult.referral_reason,
            "by": consult.referred_by,
            "at": iso(consult.referred_at),
        },
        "advice": advice_for(consult),
        "channel": consult.channel,
        "conversation_id": consult.conversation_id,
        "cancel_reason": consult.cancel_reason,
        "cancelled_by": consult.cancelled_by,
        # The specialist's own words, relayed as theirs.
        "specialist_advice": consult.specialist_advice,
        "follow_up": consult.follow_up,
        "closed_by": consult.closed_by,
        "closed_at": iso(consult.closed_at),
        "created_at": iso(consult.created_at),
        "updated_at": iso(consult.updated_at),
        "cancelled_at": iso(consult.cancelled_at),
    }


def encounter_json(encounter: Encounter) -> dict[str, Any]:
    return {
        "id": encounter.id,
        "patient_ref": encounter.patient_ref,
        "age": encounter.age_years,
        "sex": encounter.sex,
        "complaint": encounter.complaint,
        "vitals": {name: getattr(encounter, name) for name in VITAL_RANGES},
        "notes": encounter.notes,
        "worker_id": encounter.worker_id,
        "facility_id": encounter.facility_id,
        "channel": encounter.channel,
        "conversation_id": encounter.conversation_id,
        "created_at": iso(encounter.created_at),
        "updated_at": iso(encounter.updated_at),
    }
