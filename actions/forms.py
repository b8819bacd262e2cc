"""The three forms and the slots each one owns (see domain.yml)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

# Slots of the read-back and correction loop, shared by the forms.
CONTROL_SLOTS: tuple[str, ...] = ("confirmed", "correcting", "correction_field")


@dataclass(frozen=True)
class FormSpec:
    name: str
    data_slots: tuple[str, ...]

    def reset(self) -> list[SlotSet]:
        """Events that clear the form, so the next request starts empty."""
        return [SlotSet(slot, None) for slot in (*self.data_slots, *CONTROL_SLOTS, "requested_slot")]


CONSULT = FormSpec("consult_form", ("specialty", "urgency", "patient_id", "reason"))
ENCOUNTER = FormSpec("encounter_form", ("patient_id", "age", "sex", "complaint", "vitals", "notes"))
CANCEL = FormSpec("cancel_form", ("consult_to_cancel",))
FORMS: dict[str, FormSpec] = {spec.name: spec for spec in (CONSULT, ENCOUNTER, CANCEL)}


def form_named(name: Optional[str]) -> Optional[FormSpec]:
    return FORMS.get(name or "")


class StartForm(Action, ABC):
    """``action_start_<flow>``: clears the form before it opens.

    The form's activation then reads the opening sentence again, so "urgent
    cardiology consult for patient 4521" fills those slots and nothing stale
    from an earlier request survives.
    """

    @property
    @abstractmethod
    def spec(self) -> FormSpec: ...

    @property
    @abstractmethod
    def flow(self) -> str: ...

    def name(self) -> str:
        return f"action_start_{self.flow}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        return self.spec.reset()
