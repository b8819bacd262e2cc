"""The forms and the slots each one owns (see domain.yml)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import language_of
from actions.texts import say

# Slots of the read-back and correction loop, shared by the forms.
CONTROL_SLOTS: tuple[str, ...] = ("confirmed", "correcting", "correction_field")


@dataclass(frozen=True)
class FormSpec:
    name: str
    data_slots: tuple[str, ...]
    # Slots the form keeps for itself between turns (not asked, not saved).
    working_slots: tuple[str, ...] = ()

    @property
    def all_slots(self) -> tuple[str, ...]:
        return (*self.data_slots, *CONTROL_SLOTS, *self.working_slots)

    def reset(self) -> list[SlotSet]:
        """Events that clear the form, so the next request starts empty."""
        return [SlotSet(slot, None) for slot in (*self.all_slots, "requested_slot")]


CONSULT = FormSpec("consult_form", ("specialty", "urgency", "patient_id", "reason"))
# ``vitals_partial``: vitals heard whole while one named with them is asked again.
ENCOUNTER = FormSpec(
    "encounter_form", ("patient_id", "age", "sex", "complaint", "vitals", "notes"), ("vitals_partial",)
)
CANCEL = FormSpec("cancel_form", ("consult_to_cancel",))
# Follow-up tasks (issue 28, actions/task_forms.py): closing one, adding one.
TASK_DONE = FormSpec("task_done_form", ("task_to_close",))
TASK_ADD = FormSpec("task_add_form", ("task_patient", "task_what", "task_days"))
FORMS: dict[str, FormSpec] = {spec.name: spec for spec in (CONSULT, ENCOUNTER, CANCEL, TASK_DONE, TASK_ADD)}


def form_named(name: str | None) -> FormSpec | None:
    return FORMS.get(name or "")


def leave_open_form(
    dispatcher: CollectingDispatcher, tracker: Tracker, opening: str | None = None
) -> list[dict[str, Any]]:
    """Closes the form a worker left by starting something else, and says so.

    Without this the old form would take the next answer ("next" for a
    checklist step would be refused as an age). Nothing of the unfinished
    form was saved, and the worker must know that, also when a new request of
    the same kind replaces one half given.
    """
    open_form = form_named(tracker.active_loop.get("name"))
    if open_form is None:
        return []
    if open_form.name == opening and not any(tracker.get_slot(slot) is not None for slot in open_form.data_slots):
        return []  # nothing given yet: the new request simply starts it afresh
    say(dispatcher, "left_form", language_of(tracker))
    return [ActiveLoop(None), *open_form.reset()]


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
        return [*leave_open_form(dispatcher, tracker, opening=self.spec.name), *self.spec.reset()]
