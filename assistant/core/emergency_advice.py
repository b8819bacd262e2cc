"""What a worker is told of an emergency besides the booking itself, in English and Hindi: written once.

The backend puts it in an emergency consult's ``advice`` (in English: its API
has no language; ``assistant.domain.records``), and the action server says the
same sentences, in the worker's language, inside its own replies
(``actions/texts.py``), including when the hub cannot be reached at all.
The ambulance comes first: it waits for neither the hub nor a specialist.
"""

from __future__ import annotations

from assistant.core.vocabulary import EMERGENCY_NUMBER

CALL_AMBULANCE: dict[str, str] = {
    "en": f"Call {EMERGENCY_NUMBER} for an ambulance now.",
    "hi": f"एम्बुलेंस के लिए अभी {EMERGENCY_NUMBER} पर कॉल करें।",
}
# Then who is coming: the on-call specialist of ``{specialty}``, or nobody yet.
SPECIALIST_BOOKED: dict[str, str] = {
    "en": "The on-call {specialty} specialist has been booked for an immediate call.",
    "hi": "ऑन-कॉल {specialty} विशेषज्ञ को तुरंत कॉल के लिए बुक कर दिया है।",
}
NO_SPECIALIST: dict[str, str] = {
    "en": "No on-call {specialty} specialist right now; the hub has been alerted.",
    "hi": "अभी कोई ऑन-कॉल {specialty} विशेषज्ञ नहीं है; हब को सूचना दे दी है।",
}


def emergency_advice(language: str, specialty: str, *, specialist_booked: bool) -> str:
    """Call the ambulance, then whether the on-call ``specialty`` specialist is booked ("en" or "hi")."""
    then = SPECIALIST_BOOKED if specialist_booked else NO_SPECIALIST
    return f"{CALL_AMBULANCE[language]} {then[language].format(specialty=specialty)}"
