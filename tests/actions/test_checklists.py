"""Checklist actions against the real backend's seeded checklists, and from the phone's copy offline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.checklist import ActionChecklistNavigate, ActionStartChecklist
from actions.services import Services
from tests.support.backend import RunningBackend
from tests.support.trackers import domain, entity, said, slot_events, tracker, user_message


async def turn(
    action: Any, text: str, intent: str, entities: tuple = (), slots: dict | None = None, language: str = "en"
) -> tuple[list[str], dict]:
    dispatcher = CollectingDispatcher()
    message = user_message(text, intent, entities, metadata={"channel": "voice", "language": language})
    events = await action.run(dispatcher, tracker(message, {**(slots or {}), "language": language}), domain())
    return said(dispatcher), slot_events(events)


async def test_opening_reads_title_source_and_step_one(online: Services) -> None:
    replies, slots = await turn(
        ActionStartChecklist(), "hand hygiene checklist", "get_checklist", (entity("procedure", "hand_hygiene"),)
    )
    intro, first = replies
    assert "Source: WHO" in intro and "steps" in intro
    assert first.startswith("Step 1 of ")
    assert slots == {"checklist": "hand_hygiene", "checklist_step": 1}


async def test_opening_a_checklist_inside_a_form_closes_the_form_and_says_so(online: Services) -> None:
    dispatcher = CollectingDispatcher()
    message = user_message("hand hygiene checklist", "get_checklist", (entity("procedure", "hand_hygiene"),))
    conversation = tracker(message, {"patient_id": "4521", "requested_slot": "age"}, active_loop="encounter_form")
    events = await ActionStartChecklist().run(dispatcher, conversation, domain())
    closed, intro, first = said(dispatcher)
    assert closed == "I closed the unfinished form. Nothing from it was saved." and first.startswith("Step 1 of ")
    assert {"event": "active_loop", "name": None} in [{k: e.get(k) for k in ("event", "name")} for e in events]
    slots = slot_events(events)
    assert slots["patient_id"] is None and slots["requested_slot"] is None and slots["checklist"] == "hand_hygiene"


async def test_without_a_procedure_the_list_is_offered(online: Services) -> None:
    (offer,), slots = await turn(ActionStartChecklist(), "show checklists", "get_checklist")
    assert offer.startswith("Which checklist?") and "hand" in offer.lower() and slots == {}


async def test_a_misspelt_procedure_still_opens(online: Services) -> None:
    _, slots = await turn(
        ActionStartChecklist(), "malaria rdt kit", "get_checklist", (entity("procedure", "malaria rdt kit"),)
    )
    assert slots["checklist"] == "malaria_rdt"


async def test_next_back_repeat_goto_and_completion(online: Services) -> None:
    at = {"checklist": "oral_rehydration", "checklist_step": 1}
    (reply,), slots = await turn(ActionChecklistNavigate(), "next", "next_step", slots=at)
    total = int(reply.split(" of ")[1].split(":")[0].split(".")[0])
    assert reply.startswith(f"Step 2 of {total}") and slots["checklist_step"] == 2

    replies, slots = await turn(
        ActionChecklistNavigate(), "go back", "previous_step", slots={**at, "checklist_step": 1}
    )
    assert replies[0] == "This is the first step." and slots["checklist_step"] == 1

    (again,), _ = await turn(ActionChecklistNavigate(), "repeat", "repeat_step", slots={**at, "checklist_step": 2})
    assert again == reply

    (step3,), slots = await turn(
        ActionChecklistNavigate(), "go to step three", "goto_step", (entity("step_number", "three"),), slots=at
    )
    assert step3.startswith(f"Step 3 of {total}") and slots["checklist_step"] == 3

    (nope,), slots = await turn(
        ActionChecklistNavigate(), "go to step 99", "goto_step", (entity("step_number", "99"),), slots=at
    )
    assert nope == f"There is no step 99; this checklist has {total} steps." and slots == {}

    (last,), _ = await turn(
        ActionChecklistNavigate(), "go to step", "goto_step", (entity("step_number", str(total)),), slots=at
    )
    assert "last step" in last
    (done,), slots = await turn(ActionChecklistNavigate(), "next", "next_step", slots={**at, "checklist_step": total})
    assert "checklist complete" in done and slots == {"checklist": None, "checklist_step": None}


async def test_a_caution_is_announced_and_hindi_is_read_in_hindi(
    online: Services, sqlite_backend: RunningBackend
) -> None:
    from sqlalchemy import text

    with sqlite_backend.db.connect() as connection:
        slug, number = connection.execute(
            text("SELECT checklist_slug, number FROM checklist_steps WHERE caution LIMIT 1")
        ).one()
    (reply,), _ = await turn(
        ActionChecklistNavigate(), "step", "goto_step", (entity("step_number", str(number)),), slots={"checklist": slug}
    )
    assert f"Step {number} of " in reply and "Caution:" in reply
    (hindi,), _ = await turn(
        ActionChecklistNavigate(),
        "दोबारा",
        "repeat_step",
        slots={"checklist": slug, "checklist_step": number},
        language="hi",
    )
    assert hindi.startswith(f"स्टेप {number},") and "सावधानी" in hindi


async def test_no_open_checklist_gets_a_hint(online: Services) -> None:
    (reply,), slots = await turn(ActionChecklistNavigate(), "next", "next_step")
    assert reply.startswith("No checklist is open") and slots == {}


async def test_a_checklist_read_once_works_with_the_hub_down(
    online: Services, make_services: Callable[..., Services]
) -> None:
    await turn(ActionStartChecklist(), "ors", "get_checklist", (entity("procedure", "oral_rehydration"),))
    make_services("http://127.0.0.1:9", data_dir=online.settings.data_dir)  # hub gone, same phone

    replies, slots = await turn(
        ActionStartChecklist(), "ors", "get_checklist", (entity("procedure", "oral_rehydration"),)
    )
    assert replies[1].startswith("Step 1 of ") and slots["checklist"] == "oral_rehydration"
    (reply,), _ = await turn(
        ActionStartChecklist(), "wound dressing", "get_checklist", (entity("procedure", "wound_dressing"),)
    )
    assert "hub is unreachable" in reply


async def test_each_step_offers_next_repeat_back_and_stop_in_the_workers_language(online: Services) -> None:
    from assistant.core.dialogue import NextInput

    dispatcher = CollectingDispatcher()
    message = user_message("haath dhone ki checklist", "get_checklist", (entity("procedure", "hand_hygiene"),))
    await ActionStartChecklist().run(dispatcher, tracker(message, {"language": "hi"}), domain())
    step = dispatcher.messages[-1]
    expects = NextInput.of([step])
    assert expects.slot is None and expects.mode == "command" and expects.language == "hi"
    assert [(c.title, c.payload) for c in expects.choices] == [
        ("अगला", "/next_step"),
        ("दोहराएँ", "/repeat_step"),
        ("पीछे", "/previous_step"),
        ("रोकें", "/stop"),
    ]
    assert step["buttons"] == [c.button() for c in expects.choices]
