"""Reply language, stop, and the turn's identity (channel, idempotency key)."""

from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.context import Turn
from actions.session import ActionDetectLanguage, ActionStop
from assistant.core.language import detect_language
from tests.support.trackers import domain, entity, new_session, said, slot_events, tracker, user_message


@pytest.mark.parametrize(
    "text, current, expected",
    [
        ("मुझे कंसल्ट चाहिए", "en", "hi"),
        ("bacchon ke doctor se consult chahiye", "en", "hi"),
        ("mera consult kab hai", "en", "hi"),
        ("I need a cardiology consult", "hi", "en"),
        ("what is the status of my consult", "hi", "en"),
        ("next", "hi", "hi"),  # too short to tell: keep
        ("4521", "en", "en"),
        ("haan", "en", "hi"),
        ("consult cancel kar do", "en", "hi"),
        ("do you have the checklist", "hi", "en"),
    ],
)
def test_language_follows_script_and_words(text: str, current: str, expected: str) -> None:
    assert detect_language(text, current) == expected


async def detected(message: dict, history: tuple = (), current: str = "en") -> dict:  # type: ignore[type-arg]
    conversation = tracker(message, {"language": current}, history=history)
    return slot_events(await ActionDetectLanguage().run(CollectingDispatcher(), conversation, domain()))


async def test_the_channel_reported_language_wins() -> None:
    assert await detected(user_message("mera consult kab hai", metadata={"channel": "voice", "language": "en"})) == {}
    assert await detected(user_message("next", metadata={"channel": "voice", "language": "hi"})) == {"language": "hi"}


async def test_an_explicit_choice_sticks_for_the_conversation() -> None:
    choice = user_message("english please", "choose_language", [entity("language", "en")], metadata={})
    history = ({"event": "user", "text": choice["text"], "parse_data": choice},)
    # The choice is kept in its slot: it outlives the session (sessions end between flows).
    assert await detected(user_message("mera consult kab hai", metadata={}), history, current="en") == {
        "language_choice": "en"
    }
    assert await detected(user_message("mera consult kab hai", metadata={}), current="en") == {"language": "hi"}


async def test_a_kept_choice_holds_in_a_later_session() -> None:
    later = tracker(user_message("what is my consult status", metadata={}), {"language": "hi", "language_choice": "hi"})
    events = await ActionDetectLanguage().run(CollectingDispatcher(), later, domain())
    assert slot_events(events) == {}  # stays Hindi, though the words are English
    fresh = tracker(user_message("what is my consult status", metadata={}), {"language": "hi"})
    assert slot_events(await ActionDetectLanguage().run(CollectingDispatcher(), fresh, domain())) == {"language": "en"}


async def test_stop_leaves_a_form_without_saving_and_keeps_nothing() -> None:
    message = user_message("stop", "stop")
    conversation = tracker(message, {"patient_id": "4521", "requested_slot": "age"}, active_loop="encounter_form")
    dispatcher = CollectingDispatcher()
    events = await ActionStop().run(dispatcher, conversation, domain())
    assert said(dispatcher) == ["Stopped. Nothing was saved."]
    assert {"event": "active_loop", "name": None} in [{k: e.get(k) for k in ("event", "name")} for e in events]
    assert slot_events(events)["patient_id"] is None and slot_events(events)["requested_slot"] is None


async def test_stop_outside_a_form_closes_the_checklist() -> None:
    conversation = tracker(
        user_message("ruko", "stop"), {"checklist": "hand_hygiene", "checklist_step": 3, "language": "hi"}
    )
    dispatcher = CollectingDispatcher()
    events = await ActionStop().run(dispatcher, conversation, domain())
    assert said(dispatcher) == ["चेकलिस्ट रोक दी।"] and slot_events(events) == {"checklist": None, "checklist_step": None}


def test_the_idempotency_key_is_per_conversation_turn_and_purpose() -> None:
    session = new_session()
    yes = user_message("yes", "affirm")
    key = Turn.of(tracker(yes, session=session)).idempotency_key("consult")
    assert key == Turn.of(tracker(yes, session=session)).idempotency_key("consult")  # a retry of the same turn
    assert key != Turn.of(tracker(yes, sender="W002", session=session)).idempotency_key("consult")
    earlier = [{"event": "user", "text": "no"}, {"event": "action", "name": "action_listen"}]
    assert key != Turn.of(tracker(yes, session=session, history=earlier)).idempotency_key("consult")  # a later turn
    assert key != Turn.of(tracker(yes)).idempotency_key("consult")  # another session
    assert key != Turn.of(tracker(yes, session=session)).idempotency_key("encounter")


def test_a_turn_said_again_after_it_was_rewound_keeps_its_key() -> None:
    """The Rasa process rewinds a turn whose action could not run; saying it again is the same turn."""
    session = new_session()
    yes = user_message("yes", "affirm")
    first_try = Turn.of(tracker(yes, session=session)).idempotency_key("consult")
    rewound = [
        {"event": "user", "text": "yes"},
        {"event": "action", "name": "action_book_consult"},
        {"event": "bot", "text": "Sorry, I could not do that just now."},
        {"event": "rewind"},
        {"event": "action", "name": "action_listen"},
    ]
    assert Turn.of(tracker(yes, session=session, history=rewound)).idempotency_key("consult") == first_try


def test_a_restart_starts_the_count_again_with_new_keys() -> None:
    session = new_session()
    yes = user_message("yes", "affirm")
    before = Turn.of(tracker(yes, session=session)).idempotency_key("consult")
    restarted = [{"event": "restart", "timestamp": session + 60}, {"event": "action", "name": "action_listen"}]
    assert Turn.of(tracker(yes, session=session, history=restarted)).idempotency_key("consult") != before


@pytest.mark.parametrize(
    "metadata, channel",
    [
        ({"channel": "whatsapp"}, "whatsapp"),
        ({"channel": "voice"}, "voice"),
        ({"channel": "telegram"}, "rest"),
        ({}, "rest"),
    ],
)
def test_the_channel_comes_from_metadata_and_unknown_ones_fall_back(metadata: dict, channel: str) -> None:  # type: ignore[type-arg]
    assert Turn.of(tracker(user_message("hi", "greet", metadata=metadata))).channel == channel
