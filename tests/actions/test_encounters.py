"""Encounter form validation, read-back and saving, with real trackers and a real backend."""

from __future__ import annotations

import random
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import text

from actions.encounter import ActionAskEncounterConfirmed, ActionSaveEncounter
from actions.services import Services
from actions.validation import AskVitals, ValidateEncounterForm
from actions.vitals import parse_vitals, problems, read_vitals
from tests.support.backend import RunningBackend
from tests.support.trackers import domain, entity, said, shown, slot_events, tracker, user_message

COMPLETE = {
    "patient_id": "4521",
    "age": 45.0,
    "sex": "female",
    "complaint": "fever and cough",
    "vitals": {"systolic_bp": 140, "diastolic_bp": 90, "temperature": 101, "temperature_unit": "F", "pulse": 88},
    "notes": "",
}


async def validate(
    message: dict[str, Any],
    requested: str | None,
    candidates: dict[str, Any],
    slots: dict[str, Any] | None = None,
    language: str = "en",
) -> tuple[list[str], dict[str, Any]]:
    """One turn of the encounter form: what the worker hears and the slots that result."""
    dispatcher = CollectingDispatcher()
    conversation = tracker(
        message,
        {**(slots or {}), "requested_slot": requested, "language": language},
        active_loop="encounter_form",
        candidates=candidates,
    )
    events = await ValidateEncounterForm().run(dispatcher, conversation, domain())
    return said(dispatcher), slot_events(events)


@pytest.mark.parametrize(
    "spoken, expected",
    [
        (
            "bp 140 over 90 temperature 101 pulse 88",
            {"systolic_bp": 140, "diastolic_bp": 90, "temperature": 101, "temperature_unit": "F", "pulse": 88},
        ),
        (
            "bp one forty over ninety, temperature ninety eight point six",
            {"systolic_bp": 140, "diastolic_bp": 90, "temperature": 98.6, "temperature_unit": "F"},
        ),
        ("bp ek sau bees bata assi pulse nabbe", {"systolic_bp": 120, "diastolic_bp": 80, "pulse": 90}),
        (
            "बीपी 130/80, पल्स 76, तापमान 37.5",
            {"systolic_bp": 130, "diastolic_bp": 80, "pulse": 76, "temperature": 37.5, "temperature_unit": "C"},
        ),
        ("spo2 97 weight 12 kg", {"spo2": 97, "weight_kg": 12}),
        ("wajan dhai kilo", {"weight_kg": 2.5}),
        (
            "temperature 38 degrees c and respiratory rate 24",
            {"temperature": 38, "temperature_unit": "C", "respiratory_rate": 24},
        ),
        ("140/90", {"systolic_bp": 140, "diastolic_bp": 90}),
        ("fever since three days", {}),
        # "fever" may stand before a temperature, but never takes the number of a vital named after it.
        ("fever, bp 120 over 80 pulse 80", {"systolic_bp": 120, "diastolic_bp": 80, "pulse": 80}),
        ("fever, pulse 80, temperature 38", {"pulse": 80, "temperature": 38, "temperature_unit": "C"}),
        ("bukhar 101 nabz 90", {"temperature": 101, "temperature_unit": "F", "pulse": 90}),
    ],
)
def test_vitals_from_one_sentence(spoken: str, expected: dict[str, Any]) -> None:
    assert parse_vitals(spoken) == expected


@pytest.mark.parametrize(
    "spoken, whole, unheard",
    [
        # What tiny.en wrote for "one hundred forty over ninety" on one machine.
        (
            "blood pressure 140 overnight temperature 98.6 pulse 88",
            {"temperature": 98.6, "temperature_unit": "F", "pulse": 88},
            ("bp",),
        ),
        ("bp one forty", {}, ("bp",)),
        ("bp 140 over, pulse 72", {"pulse": 72}, ("bp",)),
        ("temperature ninety eight point", {}, ("temperature",)),
        ("temperature 98 point pulse 80", {"pulse": 80}, ("temperature",)),
        ("140 overnight, pulse 88", {"pulse": 88}, ("bp",)),  # no name, but the pair is a blood pressure
        ("pulse", {}, ("pulse",)),
        ("बीपी 140 बटा, पल्स 76", {"pulse": 76}, ("bp",)),
        ("bp 140 buy 90 pulse 88", {"systolic_bp": 140, "diastolic_bp": 90, "pulse": 88}, ()),  # "by" as heard
        ("fever since three days", {}, ()),  # a complaint, not a temperature
    ],
)
def test_a_vital_named_but_not_heard_whole_is_unheard_never_partial(
    spoken: str, whole: dict[str, Any], unheard: tuple[str, ...]
) -> None:
    reading = read_vitals(spoken)
    assert reading.values == whole and reading.unheard == unheard


def test_impossible_vitals_are_found_with_the_backends_ranges() -> None:
    assert [p.field for p in problems(parse_vitals("bp 20/10 temperature 60 c pulse 88"))] == [
        "systolic_bp",
        "diastolic_bp",
        "temperature_c",
    ]
    assert problems(parse_vitals("temperature 101")) == []


async def test_opening_sentence_fills_what_it_names_including_vitals() -> None:
    opening = "log encounter for patient 1187, 45 year old female, bp 140 over 90 pulse 88"
    message = user_message(
        opening, "log_encounter", [entity("patient_id", "1187"), entity("age", "45"), entity("sex", "female")]
    )
    replies, slots = await validate(message, None, {"patient_id": "1187", "age": "45", "sex": "female"})
    assert replies == []
    assert slots["patient_id"] == "1187" and slots["age"] == 45.0 and slots["sex"] == "female"
    assert slots["vitals"] == {"systolic_bp": 140, "diastolic_bp": 90, "pulse": 88}
    assert slots["requested_slot"] == "complaint"  # the only thing missing before notes


async def test_an_impossible_answer_is_asked_again_with_the_reason() -> None:
    replies, slots = await validate(user_message("150 years"), "age", {"age": "150 years"}, {"patient_id": "1"})
    assert replies == ["Age 150 is not possible; it must be between 0 and 120 years."]
    assert slots["age"] is None and slots["requested_slot"] == "age"

    replies, slots = await validate(user_message("bp 20 over 10"), "vitals", {}, dict(COMPLETE, vitals=None))
    assert "not possible" in replies[0] and slots["vitals"] is None


async def test_the_reason_is_given_in_hindi_too() -> None:
    replies, _ = await validate(user_message("एक सौ पचास साल"), "age", {"age": "एक सौ पचास साल"}, language="hi")
    assert replies == ["उम्र 150 संभव नहीं है; यह 0 से 120 साल के बीच होनी चाहिए।"]


async def test_a_number_picked_up_in_passing_never_overwrites_a_good_answer() -> None:
    history = [{"event": "slot", "name": "age", "value": 45.0}]
    message = user_message("4521", entities=[entity("age", "4521")])
    conversation = tracker(
        message,
        {"requested_slot": "patient_id", "age": 45.0},
        active_loop="encounter_form",
        history=history,
        candidates={"patient_id": "4521", "age": "4521"},
    )
    dispatcher = CollectingDispatcher()
    events = slot_events(await ValidateEncounterForm().run(dispatcher, conversation, domain()))
    assert said(dispatcher) == []
    assert events["patient_id"] == "4521" and events["age"] == 45.0


async def test_vitals_can_be_skipped() -> None:
    replies, slots = await validate(user_message("skip", "deny"), "vitals", {}, dict(COMPLETE, vitals=None))
    assert replies == [] and slots["vitals"] == {}


async def test_no_at_read_back_asks_which_field_then_asks_it_again() -> None:
    no = user_message("no", "deny")
    _, slots = await validate(no, "confirmed", {"confirmed": False}, COMPLETE)
    assert slots["correcting"] is True and slots["requested_slot"] == "correction_field"

    which = user_message("age", "correct_field", [entity("field", "age")])
    _, slots = await validate(which, "correction_field", {"correction_field": "age"}, {**COMPLETE, "correcting": True})
    assert slots["age"] is None and slots["correcting"] is False and slots["requested_slot"] == "age"


async def test_saying_the_new_value_at_read_back_corrects_it_at_once() -> None:
    message = user_message("no, the age is 46", "correct_field", [entity("age", "46")])
    _, slots = await validate(message, "confirmed", {"confirmed": False, "age": "46"}, COMPLETE)
    assert slots["age"] == 46.0 and slots["requested_slot"] == "confirmed"  # read back again

    message = user_message("no, bp is 130 over 85", "deny")
    _, slots = await validate(message, "confirmed", {"confirmed": False}, COMPLETE)
    assert slots["vitals"]["systolic_bp"] == 130 and slots["vitals"]["pulse"] == 88


async def test_read_back_and_save_record_the_channel_and_conversation(
    online: Services, sqlite_backend: RunningBackend
) -> None:
    patient_id = str(random.randint(100_000, 999_999))
    yes = tracker(
        user_message("haan", "affirm", metadata={"channel": "whatsapp"}),
        {**COMPLETE, "patient_id": patient_id, "language": "hi"},
        sender="W002",
    )

    dispatcher = CollectingDispatcher()
    await ActionAskEncounterConfirmed().run(dispatcher, yes, domain())
    (readback,) = said(dispatcher)
    assert patient_id in readback and "45 साल" in readback and "बीपी 140/90" in readback and "हाँ या नहीं" in readback

    dispatcher = CollectingDispatcher()
    await ActionSaveEncounter().run(dispatcher, yes, domain())
    assert said(dispatcher) == [f"सेव हो गया। मरीज़ {patient_id} की विज़िट दर्ज हो गई।"]
    with sqlite_backend.db.connect() as connection:
        row = connection.execute(
            text(
                "SELECT age_years, sex, systolic_bp, temperature_c, channel, conversation_id, worker_id FROM "
                "encounters WHERE patient_ref = :p"
            ),
            {"p": patient_id},
        ).one()
    assert tuple(row) == (45.0, "female", 140, 38.3, "whatsapp", "W002", "W002")


async def test_free_text_is_only_taken_as_the_answer_to_its_own_question() -> None:
    history = [{"event": "slot", "name": "complaint", "value": "fever and cough"}]
    message = user_message(
        "bp one forty over ninety temperature one oh one", entities=[entity("complaint", "one oh one")]
    )
    conversation = tracker(
        message,
        {**COMPLETE, "vitals": None, "notes": None, "requested_slot": "vitals"},
        active_loop="encounter_form",
        history=history,
        candidates={"complaint": "one oh one"},
    )
    events = slot_events(await ValidateEncounterForm().run(CollectingDispatcher(), conversation, domain()))
    assert events["complaint"] == "fever and cough"
    assert events["vitals"] == {"systolic_bp": 140, "diastolic_bp": 90, "temperature": 101, "temperature_unit": "F"}


async def test_a_bare_yes_is_not_a_complaint() -> None:
    replies, slots = await validate(
        user_message("yes", "affirm"), "complaint", {"complaint": "yes"}, {"patient_id": "1"}
    )
    assert replies == ["Please say a few words."] and slots["complaint"] is None


async def test_slots_just_cleared_by_the_start_action_are_not_judged() -> None:
    """Rasa passes the cleared slots back as candidates at activation; no complaint about them."""
    cleared = {slot: None for slot in ("patient_id", "age", "sex", "complaint", "vitals", "notes", "confirmed")}
    replies, slots = await validate(user_message("log a visit", "log_encounter"), None, cleared)
    assert replies == [] and slots["requested_slot"] == "patient_id"


async def test_with_the_hub_unreachable_the_encounter_waits_in_the_outbox(offline: Services) -> None:
    yes = tracker(user_message("yes", "affirm"), dict(COMPLETE, patient_id="77001"))
    dispatcher = CollectingDispatcher()
    await ActionSaveEncounter().run(dispatcher, yes, domain())
    assert said(dispatcher) == [
        (
            "The hub can't be reached right now. The visit is saved on this phone and will be sent when the "
            "connection returns."
        )
    ]
    assert shown(dispatcher) == [{"outbox": "queued"}]
    (queued,) = await offline.outbox.pending("W001", "encounter")
    assert queued.payload["patient_ref"] == "77001" and queued.payload["vitals"]["systolic_bp"] == 140


HALF_HEARD = "blood pressure 140 overnight temperature 98.6 pulse 88"
HEARD_WHOLE = {"temperature": 98.6, "temperature_unit": "F", "pulse": 88}


async def ask_vitals(slots: dict[str, Any], language: str = "en") -> list[str]:
    dispatcher = CollectingDispatcher()
    conversation = tracker(
        user_message("x"), {**slots, "requested_slot": "vitals", "language": language}, active_loop="encounter_form"
    )
    await AskVitals().run(dispatcher, conversation, domain())
    return said(dispatcher)


async def test_a_half_heard_vital_is_asked_again_by_name_and_the_rest_is_kept() -> None:
    replies, slots = await validate(user_message(HALF_HEARD), "vitals", {}, dict(COMPLETE, vitals=None, notes=None))
    assert slots["vitals"] is None and slots["requested_slot"] == "vitals"  # nothing partial is taken
    partial = slots["vitals_partial"]
    assert partial == {"values": HEARD_WHOLE, "missing": ["bp"]}
    assert await ask_vitals({"vitals_partial": partial}) == [
        "I have temperature 98.6 °F, pulse 88, but I did not get the BP. Please say the BP again, or say skip."
    ]
    assert await ask_vitals({"vitals_partial": partial}, "hi") == [
        "तापमान 98.6 °F, पल्स 88 मिल गया, पर बीपी समझ नहीं आया। बीपी फिर से बोलिए, या 'नहीं' बोलिए।"
    ]

    slots_so_far = dict(COMPLETE, vitals=None, notes=None, vitals_partial=partial)
    replies, slots = await validate(user_message("bp 140 over 90"), "vitals", {}, slots_so_far)
    assert replies == [] and slots["vitals"] == {**HEARD_WHOLE, "systolic_bp": 140, "diastolic_bp": 90}
    assert slots["vitals_partial"] is None and slots["requested_slot"] == "notes"


async def test_skipping_a_half_heard_vital_keeps_only_what_was_heard_whole() -> None:
    partial = {"values": HEARD_WHOLE, "missing": ["bp"]}
    replies, slots = await validate(
        user_message("skip", "deny"), "vitals", {}, dict(COMPLETE, vitals=None, vitals_partial=partial)
    )
    assert slots["vitals"] == HEARD_WHOLE and slots["vitals_partial"] is None


async def test_a_second_half_heard_answer_is_asked_again_too() -> None:
    partial = {"values": HEARD_WHOLE, "missing": ["bp"]}
    _, slots = await validate(
        user_message("bp one forty"), "vitals", {}, dict(COMPLETE, vitals=None, vitals_partial=partial)
    )
    assert slots["vitals"] is None and slots["requested_slot"] == "vitals"
    assert slots.get("vitals_partial", partial) == partial  # still waiting for the BP, the rest still kept


async def test_a_half_heard_correction_at_read_back_asks_for_the_vitals_again() -> None:
    _, slots = await validate(
        user_message("no, the bp is one forty", "deny"), "confirmed", {"confirmed": False}, COMPLETE
    )
    assert slots["vitals"] is None and slots["requested_slot"] == "vitals"
    assert slots["vitals_partial"]["missing"] == ["bp"] and slots["vitals_partial"]["values"]["pulse"] == 88


async def test_vitals_said_in_passing_never_overwrite_the_ones_given() -> None:
    history = [{"event": "slot", "name": "vitals", "value": COMPLETE["vitals"]}]
    message = user_message("she says her bp was 150 over 100 last month")
    conversation = tracker(
        message,
        {**COMPLETE, "notes": None, "complaint": None, "requested_slot": "complaint"},
        active_loop="encounter_form",
        history=history,
        candidates={"complaint": message["text"]},
    )
    events = slot_events(await ValidateEncounterForm().run(CollectingDispatcher(), conversation, domain()))
    assert events["vitals"]["systolic_bp"] == 140


@pytest.mark.parametrize("answer", ["forty five point", "one hundred and", "ek sau aur"])
async def test_an_age_cut_short_is_asked_again(answer: str) -> None:
    replies, slots = await validate(user_message(answer), "age", {"age": answer}, {"patient_id": "1"})
    if answer == "ek sau aur":  # "aur" is no English "and": 100, which is a whole age
        assert slots["age"] == 100.0
        return
    assert replies == ["I did not get the whole age. Please say it again."] and slots["age"] is None


async def test_an_age_tagged_in_passing_but_cut_short_is_not_taken() -> None:
    said_text = "patient 4521 age forty five point"
    message = user_message(
        said_text, entities=[entity("patient_id", "4521", said_text), entity("age", "45", said_text, "forty five")]
    )
    _, slots = await validate(message, "patient_id", {"patient_id": "4521", "age": "45"})
    assert slots["patient_id"] == "4521" and slots["age"] is None


@pytest.mark.parametrize(
    "answer, expected", [("45 21", "4521"), ("for five to one", "4521"), ("patient id 452 1", "4521")]
)
async def test_a_patient_id_heard_in_pieces_is_one_id(answer: str, expected: str) -> None:
    _, slots = await validate(user_message(answer), "patient_id", {"patient_id": answer})
    assert slots["patient_id"] == expected


async def test_a_patient_id_cut_short_is_asked_again() -> None:
    replies, slots = await validate(
        user_message("four five two one point"), "patient_id", {"patient_id": "four five two one point"}
    )
    assert replies == ["I did not get the whole patient ID. Please say it again."] and slots["patient_id"] is None
