"""Canonical values shared by the NLU, the action server and the backend.

These names are a contract: outside evaluation and the
training data use them verbatim. Display names are what the assistant speaks.
"""

from __future__ import annotations

SPECIALTIES: dict[str, dict[str, str]] = {
    "general_medicine": {"en": "general medicine", "hi": "सामान्य चिकित्सा"},
    "pediatrics": {"en": "pediatrics", "hi": "बाल रोग"},
    "obstetrics_gynecology": {"en": "obstetrics and gynecology", "hi": "प्रसूति एवं स्त्री रोग"},
    "general_surgery": {"en": "general surgery", "hi": "सामान्य शल्य चिकित्सा"},
    "orthopedics": {"en": "orthopedics", "hi": "हड्डी रोग"},
    "dermatology": {"en": "dermatology", "hi": "त्वचा रोग"},
    "psychiatry": {"en": "psychiatry", "hi": "मनोरोग"},
    "ophthalmology": {"en": "ophthalmology", "hi": "नेत्र रोग"},
    "ent": {"en": "ENT", "hi": "नाक, कान, गला"},
    "cardiology": {"en": "cardiology", "hi": "हृदय रोग"},
    "neurology": {"en": "neurology", "hi": "तंत्रिका रोग"},
    "nephrology": {"en": "nephrology", "hi": "गुर्दा रोग"},
}

URGENCIES: tuple[str, ...] = ("routine", "urgent", "emergency")

SEXES: tuple[str, ...] = ("male", "female", "other")

# How the assistant says each urgency and sex, in questions, read-backs and
# buttons alike (the Hindi words are the ones its questions use).
VALUE_LABELS: dict[str, dict[str, str]] = {
    "routine": {"en": "routine", "hi": "सामान्य"},
    "urgent": {"en": "urgent", "hi": "जल्दी"},
    "emergency": {"en": "emergency", "hi": "इमरजेंसी"},
    "male": {"en": "male", "hi": "पुरुष"},
    "female": {"en": "female", "hi": "महिला"},
    "other": {"en": "other", "hi": "अन्य"},
}

PROCEDURES: tuple[str, ...] = (
    "hand_hygiene",
    "neonatal_resuscitation",
    "newborn_care",
    "iv_cannulation",
    "safe_injection",
    "blood_pressure_measurement",
    "blood_glucose",
    "wound_dressing",
    "oral_rehydration",
    "malaria_rdt",
    "postpartum_hemorrhage",
    "hololens_setup",
)

CONSULT_STATUSES: tuple[str, ...] = ("requested", "scheduled", "cancelled", "completed", "no_show")

# What happened to a consult at the hub, each told to the requesting worker (``assistant.domain.consult_notices``).
HUB_EVENTS: tuple[str, ...] = ("scheduled", "rescheduled", "cancelled", "completed", "no_show", "referred")

# What the worker outbox (``hub_notices``) also tells besides the hub's events: a follow-up task falls due
# (``assistant.domain.task_reminders``).
TASK_EVENTS: tuple[str, ...] = ("task_due",)
NOTICE_EVENTS: tuple[str, ...] = (*HUB_EVENTS, *TASK_EVENTS)

# Why a consult waits in a hub's queue (``consults.queue_reason``): no free slot in its horizon, no specialist
# of its specialty at the hub at all, no hub serving the facility, or a coordinator referred it from another hub.
QUEUE_REASONS: tuple[str, ...] = ("no_slot", "no_specialist", "no_hub", "referred")

# The kinds of facility in a programme. A hub (a medical college) serves the facilities that name it, and those
# under them; everything else is a field facility, from a district hospital down to a sub-centre.
FACILITY_KINDS: tuple[str, ...] = ("hub", "district_hospital", "chc", "phc", "sub_centre", "hwc")

ROLES: tuple[str, ...] = ("worker", "supervisor", "coordinator", "specialist", "admin", "service")
# The roles a person holds; "service" is for the assistant's own components only.
# A coordinator is the hub desk (a worker record at the hub facility); a
# specialist is a login linked to a ``specialists`` record.
PEOPLE_ROLES: tuple[str, ...] = ("worker", "supervisor", "coordinator", "specialist", "admin")
# The hub's people, who sign in to the console's Hub desk.
HUB_ROLES: tuple[str, ...] = ("coordinator", "specialist")

CHANNELS: tuple[str, ...] = ("voice", "web", "whatsapp", "rest", "api")

LANGUAGES: tuple[str, ...] = ("en", "hi")

EMERGENCY_NUMBER = "108"
