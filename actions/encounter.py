"""Encounters: read everything back, save on "yes" (or keep it in the outbox)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import Turn, language_of
from actions.forms import ENCOUNTER, StartForm
from actions.outbox import submit
from actions.services import services
from actions.texts import age_phrase, ask, label, say, say_rejection

# Read-back order and units of the vitals.
_VITALS_SPOKEN = (
    ("spo2", "%"),
    ("weight_kg", " kg"),
    ("respiratory_rate", "/min"),
)


class ActionStartEncounter(StartForm):
    spec = ENCOUNTER
    flow = "encounter"


def vitals_phrase(vitals: dict[str, Any] | None, language: str) -> str:
    """ "BP 140/90, temperature 101 °F, pulse 88" in the worker's language."""
    if not vitals:
        return label("not_taken", language)
    parts = []
    if vitals.get("systolic_bp") is not None:
        parts.append(f"{label('bp', language)} {vitals['systolic_bp']}/{vitals['diastolic_bp']}")
    if vitals.get("temperature") is not None:
        parts.append(
            f"{label('temperature', language)} {vitals['temperature']:g} °{vitals.get('temperature_unit', 'C')}"
        )
    if vitals.get("pulse") is not None:
        parts.append(f"{label('pulse', language)} {vitals['pulse']:g}")
    for name, unit in _VITALS_SPOKEN:
        if vitals.get(name) is not None:
            parts.append(f"{label(name, language)} {vitals[name]:g}{unit}")
    return ", ".join(parts)


class ActionAskEncounterConfirmed(Action):
    """The read-back before saving."""

    def name(self) -> str:
        return "action_ask_encounter_form_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        language = language_of(tracker)
        ask(
            dispatcher,
            "encounter_readback",
            language,
            "confirmed",
            patient_id=tracker.get_slot("patient_id"),
            age=age_phrase(float(tracker.get_slot("age")), language),
            sex=label(tracker.get_slot("sex"), language),
            complaint=tracker.get_slot("complaint"),
            vitals=vitals_phrase(tracker.get_slot("vitals"), language),
            notes=tracker.get_slot("notes") or label("none", language),
        )
        return []


class ActionSaveEncounter(Action):
    def name(self) -> str:
        return "action_save_encounter"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        turn = Turn.of(tracker)
        body = {
            "patient_ref": tracker.get_slot("patient_id"),
            "age": float(tracker.get_slot("age")),
            "sex": tracker.get_slot("sex"),
            "complaint": tracker.get_slot("complaint"),
            "vitals": tracker.get_slot("vitals") or {},
            "notes": tracker.get_slot("notes") or None,
            "channel": turn.channel,
            "conversation_id": turn.conversation_id,
        }
        parts = services()
        submitted = await submit(
            parts.outbox, parts.backend, "encounter", turn.idempotency_key("encounter"), turn.worker_id, body
        )
        if submitted.outcome == "sent":
            say(dispatcher, "encounter_saved", turn.language, patient_id=body["patient_ref"])
        elif submitted.outcome == "queued":
            say(dispatcher, "encounter_queued", turn.language)
            dispatcher.utter_message(json_message={"outbox": "queued"})  # screens show it (docs/contracts.md)
        else:
            say_rejection(dispatcher, submitted.error, turn.language)
        return ENCOUNTER.reset()
