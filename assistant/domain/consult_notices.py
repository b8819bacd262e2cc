"""What the requesting worker is told when the hub acts on their consult, in English and Hindi.

Short enough to be spoken at the start of a turn ("One update: ..."). A
completed consult's advice is not in the notice: the worker hears it, marked
as the specialist's words, when they ask for the consult's status.
"""

from __future__ import annotations

from assistant.core.spoken_times import when_phrase
from assistant.core.vocabulary import HUB_EVENTS, SPECIALTIES
from assistant.db.models import Consult

_TEXTS: dict[str, dict[str, str]] = {
    "scheduled": {
        "en": "One update: your {specialty} consult for patient {patient} is {when}, with {doctor}.",
        "hi": "एक सूचना: मरीज़ {patient} के लिए आपका {specialty} कंसल्ट {when} है, {doctor} के साथ।",
    },
    "rescheduled": {
        "en": "One update: your {specialty} consult for patient {patient} has moved to {when}, with {doctor}.",
        "hi": "एक सूचना: मरीज़ {patient} का {specialty} कंसल्ट अब {when} है, {doctor} के साथ।",
    },
    "cancelled": {
        "en": "One update: the hub cancelled your {specialty} consult for patient {patient}. Reason: {reason}.",
        "hi": "एक सूचना: हब ने मरीज़ {patient} का {specialty} कंसल्ट रद्द कर दिया। कारण: {reason}।",
    },
    "completed": {
        "en": "One update: {doctor} has completed your {specialty} consult for patient {patient}. "
        "Say 'consult status' to hear the specialist's advice.",
        "hi": "एक सूचना: {doctor} ने मरीज़ {patient} का {specialty} कंसल्ट पूरा किया। "
        "विशेषज्ञ की सलाह सुनने के लिए 'कंसल्ट स्टेटस' बोलिए।",
    },
    "no_show": {
        "en": "One update: your {specialty} consult for patient {patient} was marked as missed. "
        "Please request it again if it is still needed.",
        "hi": "एक सूचना: मरीज़ {patient} का {specialty} कंसल्ट छूट गया दर्ज हुआ। ज़रूरत हो तो फिर से अनुरोध कीजिए।",
    },
    "referred": {
        "en": "One update: the hub referred your {specialty} consult for patient {patient} to {hub}. "
        "Reason: {reason}. You will hear when {hub} books it.",
        "hi": "एक सूचना: हब ने मरीज़ {patient} का {specialty} कंसल्ट {hub} को भेज दिया। कारण: {reason}। "
        "{hub} समय तय करेगा तो आपको बताया जाएगा।",
    },
}
_NO_REASON = {"en": "not given", "hi": "नहीं बताया"}
_THE_SPECIALIST = {"en": "the specialist", "hi": "विशेषज्ञ"}

assert set(_TEXTS) == set(HUB_EVENTS), "every hub event needs its notice"


def notice_text(consult: Consult, event: str, language: str, timezone: str, hub: str = "") -> str:
    """The notice of ``event`` on ``consult`` in ``language`` ("en" or "hi"); ``hub`` names the hub referred to."""
    specialty = SPECIALTIES.get(consult.specialty, {}).get(language) or consult.specialty
    doctor = consult.specialist.name if consult.specialist is not None else _THE_SPECIALIST[language]
    return _TEXTS[event][language].format(
        specialty=specialty,
        patient=consult.patient_ref,
        when=when_phrase(consult.scheduled_for, language, timezone, relative=False),
        doctor=doctor,
        reason=(_reason(consult, event) or _NO_REASON[language]).rstrip("."),
        hub=hub,
    )


def _reason(consult: Consult, event: str) -> str | None:
    return consult.referral_reason if event == "referred" else consult.cancel_reason
