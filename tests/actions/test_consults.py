"""Consult actions with real trackers against a real backend (and against none)."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import text

from actions.consult import (
    ActionAskCancelConfirmed,
    ActionAskConsultConfirmed,
    ActionBookConsult,
    ActionCancelConsult,
    ActionConsultStatus,
)
from actions.context import Turn
from actions.outbox import deliver_pending
from actions.services import Services
from actions.validation import AskConsultToCancel, ValidateCancelForm, ValidateConsultForm
from tests.support.backend import RunningBackend
from tests.support.trackers import domain, entity, new_session, said, shown, slot_events, tracker, user_message


def patient() -> str:
    """A patient id no other test uses, so the database checks are exact."""
    return str(random.randint(100_000, 999_999))


def consult_rows(backend: RunningBackend, patient_id: str) -> list[dict]:
    with backend.db.connect() as connection:
        rows = connection.execute(
            text("SELECT urgency, status, requested_by, channel, conversation_id FROM consults WHERE patient_ref = :p"),
            {"p": patient_id},
        )
        return [dict(row._mapping) for row in rows]


def confirmed_consult(
    patient_id: str,
    urgency: str = "urgent",
    channel: str = "voice",
    sender: str = "W001",  # type: ignore[no-untyped-def]
    session: float | None = None,
    earlier_turns: int = 0,
    language: str = "en",
):
    """The "yes" that books; the same ``session`` and ``earlier_turns`` make the same turn."""
    slots = {
        "language": language,
        "specialty": "cardiology",
        "urgency": urgency,
        "patient_id": patient_id,
        "reason": "chest pain",
        "confirmed": True,
    }
    message = user_message("yes", "affirm", metadata={"channel": channel, "language": language})
    history = [{"event": "user", "text": f"turn {n}"} for n in range(earlier_turns)]
    return tracker(message, slots, sender=sender, session=session, history=history)


async def run(action, conversation) -> tuple[list[str], list[dict]]:  # type: ignore[no-untyped-def]
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, conversation, domain())
    return said(dispatcher), events


async def test_read_back_then_booking_answers_with_specialist_time_and_link(
    online: Services, sqlite_backend: RunningBackend
) -> None:
    patient_id = patient()
    conversation = confirmed_consult(patient_id)

    (readback,), _ = await run(ActionAskConsultConfirmed(), conversation)
    assert "cardiology" in readback and patient_id in readback and "chest pain" in readback and "yes or no" in readback

    (reply,), events = await run(ActionBookConsult(), conversation)
    assert reply.startswith("Booked: Dr.") and "teams.microsoft.com/l/call" in reply
    assert slot_events(events)["specialty"] is None  # the form is cleared for the next request
    assert consult_rows(sqlite_backend, patient_id) == [
        {
            "urgency": "urgent",
            "status": "scheduled",
            "requested_by": "W001",
            "channel": "voice",
            "conversation_id": "W001",
        }
    ]


async def test_running_the_same_turn_again_never_books_twice(online: Services, sqlite_backend: RunningBackend) -> None:
    patient_id, session = patient(), new_session()
    for _ in range(3):
        await run(ActionBookConsult(), confirmed_consult(patient_id, session=session))
    assert len(consult_rows(sqlite_backend, patient_id)) == 1
    # A new turn is a new request.
    await run(ActionBookConsult(), confirmed_consult(patient_id, session=session, earlier_turns=1))
    assert len(consult_rows(sqlite_backend, patient_id)) == 2


async def test_emergency_skips_the_questions_and_says_108(online: Services, sqlite_backend: RunningBackend) -> None:
    patient_id = patient()
    opening = user_message(
        f"emergency cardiology consult for patient {patient_id}",
        "request_consult",
        [entity("urgency", "emergency"), entity("specialty", "cardiology"), entity("patient_id", patient_id)],
    )
    candidates = {"urgency": "emergency", "specialty": "cardiology", "patient_id": patient_id}
    dispatcher = CollectingDispatcher()
    events = await ValidateConsultForm().run(
        dispatcher, tracker(opening, active_loop="consult_form", candidates=candidates), domain()
    )
    assert "108" in said(dispatcher)[0]
    assert slot_events(events)["requested_slot"] is None  # nothing left to ask: book now

    (reply,), _ = await run(ActionBookConsult(), tracker(opening, candidates))
    assert "108" in reply and "joins now" in reply
    assert consult_rows(sqlite_backend, patient_id)[0]["status"] == "scheduled"


async def test_unreachable_hub_queues_the_request_and_delivers_it_exactly_once(
    offline: Services, make_services: Callable[..., Services], sqlite_backend: RunningBackend
) -> None:
    patient_id, session = patient(), new_session()
    for _ in range(2):  # the same turn twice while offline: queued once
        (reply,), _ = await run(ActionBookConsult(), confirmed_consult(patient_id, session=session))
        assert "saved on this phone" in reply
    assert [item.kind for item in await offline.outbox.pending("W001")] == ["consult"]

    # The action server restarts with the hub back: the outbox is still there.
    restarted = make_services(sqlite_backend.url, sqlite_backend.token("service"))
    assert await deliver_pending(restarted.outbox, restarted.backend) == 1
    assert await deliver_pending(restarted.outbox, restarted.backend) == 0
    assert len(consult_rows(sqlite_backend, patient_id)) == 1
    # Even a replay of the delivered request (a crash before it was marked) creates nothing new.
    key = Turn.of(confirmed_consult(patient_id, session=session)).idempotency_key("consult")
    delivered = await restarted.outbox.get(key)
    assert delivered is not None and delivered.status == "delivered" and delivered.delivered_id
    await restarted.backend.create_consult("W001", delivered.payload, delivered.key)
    assert len(consult_rows(sqlite_backend, patient_id)) == 1


async def test_an_emergency_with_the_hub_down_still_says_108(offline: Services) -> None:
    dispatcher = CollectingDispatcher()
    await ActionBookConsult().run(dispatcher, confirmed_consult(patient(), urgency="emergency"), domain())
    (reply,) = said(dispatcher)
    assert "108" in reply and "saved" in reply
    assert shown(dispatcher) == [{"outbox": "queued"}]  # the web page marks it


@pytest.mark.slow
async def test_a_hub_that_never_answers_counts_as_unreachable(
    make_services: Callable[..., Services], silent_backend_url: str
) -> None:
    parts = make_services(silent_backend_url, "token")
    (reply,), _ = await run(ActionBookConsult(), confirmed_consult(patient()))
    assert "saved on this phone" in reply
    assert len(await parts.outbox.pending()) == 1


@pytest.mark.parametrize("language", ["en", "hi"])
async def test_a_worker_whose_hub_has_no_such_specialist_hears_so_and_is_never_sent_to_another_hub(
    online: Services, sqlite_backend: RunningBackend, language: str
) -> None:
    # W004's facility is served by the Udaipur hub, which has no cardiologist; Jodhpur has free ones.
    patient_id = patient()
    conversation = confirmed_consult(patient_id, urgency="routine", sender="W004", language=language)
    (reply,), _ = await run(ActionBookConsult(), conversation)
    expected = {"en": "Your hub has no cardiology specialist", "hi": "आपके हब में हृदय रोग के विशेषज्ञ नहीं हैं"}
    assert expected[language] in reply, reply
    with sqlite_backend.db.connect() as connection:
        query = "SELECT status, specialist_id, hub_id FROM consults WHERE patient_ref = :p"
        rows = [tuple(row) for row in connection.execute(text(query), {"p": patient_id})]
    assert rows == [("requested", None, "rnt-udaipur")]


async def test_a_sender_who_is_not_a_worker_hears_why_and_nothing_is_queued(online: Services) -> None:
    (reply,), _ = await run(ActionBookConsult(), confirmed_consult(patient(), sender="not-a-worker"))
    assert "not linked to a registered health worker" in reply
    assert await online.outbox.pending() == []


async def test_a_deactivated_worker_hears_why_and_nothing_is_booked(
    online: Services, sqlite_backend: RunningBackend
) -> None:
    worker_id = f"D{random.randint(10_000, 99_999)}"
    with sqlite_backend.db.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO workers (id, name, facility_id, role, active) "
                "VALUES (:id, 'Gone', 'hwc-ajari', 'worker', 0)"
            ),
            {"id": worker_id},
        )
    patient_id = patient()
    (reply,), _ = await run(ActionBookConsult(), confirmed_consult(patient_id, sender=worker_id))
    assert "not linked to a registered health worker" in reply
    assert consult_rows(sqlite_backend, patient_id) == [] and await online.outbox.pending() == []


async def test_status_lists_open_and_queued_consults(online: Services, make_services: Callable[..., Services]) -> None:
    patient_id = patient()
    await run(ActionBookConsult(), confirmed_consult(patient_id, sender="W002"))
    (reply,), _ = await run(
        ActionConsultStatus(), tracker(user_message("consult status", "consult_status"), sender="W002")
    )
    assert reply.startswith("Your consults:") and patient_id in reply

    make_services("http://127.0.0.1:9", data_dir=online.settings.data_dir)  # the hub goes away
    queued = patient()
    await run(ActionBookConsult(), confirmed_consult(queued, sender="W002"))
    replies, _ = await run(
        ActionConsultStatus(), tracker(user_message("consult status", "consult_status"), sender="W002")
    )
    assert "can't reach the hub" in replies[0] and queued in replies[1]


def complete_at_the_hub(backend: RunningBackend, patient_id: str, advice: str, follow_up: str | None) -> None:
    """What the hub desk's complete does to the row (the hub API's own tests drive that route)."""
    with backend.db.begin() as connection:
        connection.execute(
            text(
                "UPDATE consults SET status = 'completed', specialist_advice = :advice, follow_up = :follow_up, "
                "closed_at = CURRENT_TIMESTAMP WHERE patient_ref = :p"
            ),
            {"p": patient_id, "advice": advice, "follow_up": follow_up},
        )


async def test_status_relays_a_completed_consults_advice_as_the_specialists_words(
    online: Services, sqlite_backend: RunningBackend
) -> None:
    patient_id = patient()
    await run(ActionBookConsult(), confirmed_consult(patient_id, sender="W002"))
    advice = "Start low-dose aspirin; refer if the pain returns."
    complete_at_the_hub(sqlite_backend, patient_id, advice, "Review in two weeks")

    dispatcher = CollectingDispatcher()
    await ActionConsultStatus().run(
        dispatcher, tracker(user_message("consult status", "consult_status"), sender="W002"), domain()
    )
    relayed = [message for message in dispatcher.messages if patient_id in (message.get("text") or "")]
    assert len(relayed) == 1
    words = relayed[0]["text"]
    assert f'"{advice}"' in words and "in the specialist's own words" in words and "Review in two weeks" in words
    assert relayed[0]["custom"]["quote"]["speaker"] == "specialist"
    assert relayed[0]["custom"]["quote"]["name"]  # whose words: the booked specialist

    hindi = CollectingDispatcher()
    await ActionConsultStatus().run(
        hindi,
        tracker(user_message("कंसल्ट स्टेटस", "consult_status"), {"language": "hi"}, sender="W002"),
        domain(),
    )
    assert any(f'"{advice}"' in (m.get("text") or "") and "विशेषज्ञ के अपने शब्दों में" in m["text"] for m in hindi.messages)


async def test_cancel_asks_which_one_then_cancels_the_chosen_consult(
    online: Services, sqlite_backend: RunningBackend
) -> None:
    first, second = patient(), patient()
    for patient_id in (first, second):
        await run(ActionBookConsult(), confirmed_consult(patient_id, sender="W003"))

    opening = user_message("cancel my consult", "cancel_consult")
    dispatcher = CollectingDispatcher()
    events = await ValidateCancelForm().run(
        dispatcher, tracker(opening, sender="W003", active_loop="cancel_form"), domain()
    )
    assert slot_events(events).get("consult_to_cancel") is None  # several open: the form asks which
    # Rasa validates again with the slots the start action cleared: still nothing decided.
    events = await ValidateCancelForm().run(
        CollectingDispatcher(),
        tracker(
            opening, sender="W003", active_loop="cancel_form", candidates={"consult_to_cancel": None, "confirmed": None}
        ),
        domain(),
    )
    assert slot_events(events).get("confirmed") is None and slot_events(events).get("consult_to_cancel") is None
    (question,), _ = await run(AskConsultToCancel(), tracker(opening, sender="W003"))
    assert "1:" in question and "2:" in question

    # Newest first: "two" is the first one booked.
    answer = user_message("two", "inform")
    dispatcher = CollectingDispatcher()
    events = await ValidateCancelForm().run(
        dispatcher,
        tracker(answer, {"requested_slot": "consult_to_cancel"}, sender="W003", active_loop="cancel_form"),
        domain(),
    )
    chosen = slot_events(events)["consult_to_cancel"]
    assert chosen["patient_id"] == first
    (readback,), _ = await run(
        ActionAskCancelConfirmed(), tracker(answer, {"consult_to_cancel": chosen}, sender="W003")
    )
    assert first in readback and "yes or no" in readback

    yes = tracker(user_message("yes", "affirm"), {"consult_to_cancel": chosen, "confirmed": True}, sender="W003")
    (reply,), _ = await run(ActionCancelConsult(), yes)
    assert reply.startswith("Cancelled")
    assert consult_rows(sqlite_backend, first)[0]["status"] == "cancelled"
    assert consult_rows(sqlite_backend, second)[0]["status"] == "scheduled"


async def test_cancelling_a_request_still_in_the_outbox_withdraws_it(offline: Services) -> None:
    patient_id = patient()
    await run(ActionBookConsult(), confirmed_consult(patient_id, sender="W001"))
    opening = user_message(
        f"cancel the consult for patient {patient_id}", "cancel_consult", [entity("patient_id", patient_id)]
    )
    events = await ValidateCancelForm().run(
        CollectingDispatcher(), tracker(opening, active_loop="cancel_form"), domain()
    )
    chosen = slot_events(events)["consult_to_cancel"]
    assert chosen["key"] and chosen["patient_id"] == patient_id
    (reply,), _ = await run(ActionCancelConsult(), tracker(opening, {"consult_to_cancel": chosen, "confirmed": True}))
    assert reply.startswith("Cancelled")
    assert await offline.outbox.pending() == []
