"""The WhatsApp Cloud API connector, through the running Rasa server, with real signed webhooks.

Meta's side is ``fake_graph``: a local HTTP server speaking the Graph API.
Everything else is real: ``rasa run`` with the trained model, the action
server, the backend and its database.
"""

from __future__ import annotations

import json
import re

import pytest
import requests
from sqlalchemy import text

from assistant.channels import channel_texts
from assistant.core.rules import MAX_MEDIA_BYTES
from tests.channels.conftest import ChannelWorker
from tests.support import whatsapp as wa
from tests.support.fake_graph import FakeGraphApi, SentMessage
from tests.support.stack import RunningStack
from tests.support.voice_note import spoken_ogg_opus

pytestmark = pytest.mark.stack


def _user_texts(stack: RunningStack, worker_id: str) -> list[str]:
    return [event["text"] for event in stack.tracker(worker_id)["events"] if event["event"] == "user"]


def test_verification_handshake_echoes_the_challenge_only_for_our_token(running_stack: RunningStack) -> None:
    url = f"{running_stack.rasa_url}/webhooks/whatsapp/webhook"
    ok = requests.get(
        url, params={"hub.mode": "subscribe", "hub.verify_token": wa.VERIFY_TOKEN, "hub.challenge": "1158201444"}
    )
    assert ok.status_code == 200 and ok.text == "1158201444"
    wrong = requests.get(
        url, params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158201444"}
    )
    assert wrong.status_code == 403 and "1158201444" not in wrong.text


def test_unsigned_and_badly_signed_webhooks_are_refused_and_consume_nothing(
    running_stack: RunningStack, fake_graph: FakeGraphApi, worker: ChannelWorker
) -> None:
    body = wa.text(worker.phone, "help")
    assert wa.post_webhook(running_stack.rasa_url, body, secret=None).status_code == 403
    assert wa.post_webhook(running_stack.rasa_url, body, secret="not-the-app-secret").status_code == 403
    raw = json.dumps(body).encode()
    tampered = raw.replace(b"help", b"hElp")
    response = requests.post(
        f"{running_stack.rasa_url}/webhooks/whatsapp/webhook",
        data=tampered,
        headers={"X-Hub-Signature-256": wa.sign(raw), "Content-Type": "application/json"},
    )
    assert response.status_code == 403
    assert fake_graph.messages_to(worker.phone) == []
    # The genuine delivery of the same message is then processed normally.
    assert wa.post_webhook(running_stack.rasa_url, body).status_code == 200
    assert fake_graph.wait_for(worker.phone, 1)
    assert _user_texts(running_stack, worker.id) == ["help"]


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"[]",
        b'{"object": "page", "entry": []}',
        b'{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", '
        b'"value": {"messages": [{"type": "text"}]}}]}]}',
        b'{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", '
        b'"value": {"messages": [{"id": "wamid.X", "from": "91", "type": "text", "text": {}}]}}]}]}',
    ],
)
def test_malformed_payloads_get_400(running_stack: RunningStack, raw: bytes) -> None:
    response = wa.post_webhook(running_stack.rasa_url, None, raw=raw)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


def test_status_callbacks_are_acknowledged_and_ignored(
    running_stack: RunningStack, fake_graph: FakeGraphApi, worker: ChannelWorker
) -> None:
    response = wa.post_webhook(running_stack.rasa_url, wa.status_callback(worker.phone))
    assert response.status_code == 200 and response.json()["statuses"] == 1 and response.json()["messages"] == 0
    assert fake_graph.messages_to(worker.phone) == []


def test_an_unknown_sender_is_refused_politely_and_nothing_is_booked(
    running_stack: RunningStack, fake_graph: FakeGraphApi
) -> None:
    stranger = wa.new_phone()
    with running_stack.backend_db.connect() as connection:
        before = connection.execute(text("SELECT count(*) FROM consults")).scalar_one()
    response = wa.post_webhook(
        running_stack.rasa_url, wa.text(stranger, "emergency cardiology consult for patient 8812, chest pain")
    )
    assert response.status_code == 200
    [refusal] = fake_graph.wait_for(stranger, 1)
    assert "not registered" in refusal.text
    with running_stack.backend_db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM consults")).scalar_one() == before
        # Exactly the stranger's patient: other tests' random patient ids may contain these digits.
        assert connection.execute(text("SELECT count(*) FROM consults WHERE patient_ref = '8812'")).scalar_one() == 0


def test_a_failing_graph_api_is_retried_until_the_reply_is_delivered(
    running_stack: RunningStack, fake_graph: FakeGraphApi, worker: ChannelWorker
) -> None:
    failed_before = fake_graph.failed_attempts
    fake_graph.fail_next(2)
    assert wa.post_webhook(running_stack.rasa_url, wa.text(worker.phone, "help")).status_code == 200
    replies = fake_graph.wait_for(worker.phone, 1)
    assert fake_graph.failed_attempts - failed_before == 2
    assert replies[0].text and len({m.text for m in replies}) == len(replies)  # delivered, and once


def test_a_reply_the_graph_api_refuses_for_long_is_delivered_when_it_recovers(
    running_stack: RunningStack, fake_graph: FakeGraphApi, worker: ChannelWorker
) -> None:
    fake_graph.fail_next(1000)
    try:
        assert wa.post_webhook(running_stack.rasa_url, wa.text(worker.phone, "help")).status_code == 200
        assert fake_graph.messages_to(worker.phone) == []
    finally:
        fake_graph.fail_next(0)
    assert fake_graph.wait_for(worker.phone, 1, timeout=30)[0].text


def _turn(stack: RunningStack, graph: FakeGraphApi, phone: str, body: dict) -> list[SentMessage]:
    """Post one webhook; the messages it brought (all are sent before the webhook is answered)."""
    before = len(graph.messages_to(phone))
    assert wa.post_webhook(stack.rasa_url, body).status_code == 200
    return graph.wait_for(phone, before + 1)[before:]


def test_a_consult_by_text_and_buttons_is_booked_once_even_when_redelivered(
    running_stack: RunningStack, fake_graph: FakeGraphApi, worker: ChannelWorker
) -> None:
    phone = worker.phone
    [specialties] = _turn(running_stack, fake_graph, phone, wa.text(phone, "I need to request a consult"))
    # Twelve specialties are more than a list holds: numbered text, answered with a number.
    assert specialties.kind == "text" and "12. nephrology" in specialties.text
    number = next(line.split(".")[0] for line in specialties.text.splitlines() if line.endswith(". cardiology"))
    [urgency] = _turn(running_stack, fake_graph, phone, wa.text(phone, number))
    assert urgency.kind == "button" and [title for title, _ in urgency.choices] == ["routine", "urgent", "emergency"]

    [patient] = _turn(running_stack, fake_graph, phone, wa.tap(phone, dict(urgency.choices)["urgent"], "urgent"))
    assert "patient" in patient.text.lower()
    _turn(running_stack, fake_graph, phone, wa.text(phone, "patient 7731"))
    [readback] = _turn(running_stack, fake_graph, phone, wa.text(phone, "fainting and chest pain"))
    assert "7731" in readback.text and [title for title, _ in readback.choices] == ["Yes", "No"]

    yes = wa.tap(phone, dict(readback.choices)["Yes"], "Yes")
    [booked] = _turn(running_stack, fake_graph, phone, yes)
    assert "Booked" in booked.text

    # Meta delivers the same webhook again (it did not see our 200 in time): nothing happens twice.
    replay = wa.post_webhook(running_stack.rasa_url, yes)
    assert replay.status_code == 200
    with running_stack.backend_db.connect() as connection:
        rows = connection.execute(
            text("SELECT specialty, urgency, patient_ref, channel FROM consults WHERE requested_by = :worker"),
            {"worker": worker.id},
        ).all()
    assert rows == [("cardiology", "urgent", "7731", "whatsapp")]
    assert fake_graph.messages_to(phone)[-1].text == booked.text
    assert _user_texts(running_stack, worker.id).count("/affirm") == 1


def _step(message: str) -> tuple[int, int]:
    found = re.match(r"Step (\d+) of (\d+)", message)
    assert found, message
    return int(found.group(1)), int(found.group(2))


def test_a_checklist_by_text_and_buttons_runs_to_completion(
    running_stack: RunningStack, fake_graph: FakeGraphApi, worker: ChannelWorker
) -> None:
    phone = worker.phone
    first = _turn(running_stack, fake_graph, phone, wa.text(phone, "hand hygiene checklist"))[-1]
    _, total = _step(first.text)
    # Four choices are more than three buttons: a list message.
    assert first.kind == "list" and [title for title, _ in first.choices] == ["Next", "Repeat", "Back", "Stop"]
    navigation = dict(first.choices)

    def tap(title: str) -> str:
        return _turn(running_stack, fake_graph, phone, wa.tap(phone, navigation[title], title, as_list=True))[-1].text

    def say(words: str) -> str:
        return _turn(running_stack, fake_graph, phone, wa.text(phone, words))[-1].text

    assert [_step(tap("Next"))[0], _step(tap("Back"))[0], _step(say("next"))[0], _step(say("repeat"))[0]] == [
        2,
        1,
        2,
        2,
    ]
    for number in range(3, total + 1):
        assert _step(tap("Next"))[0] == number
    finished = _turn(running_stack, fake_graph, phone, wa.tap(phone, navigation["Next"], "Next", as_list=True))[-1]
    assert "checklist complete" in finished.text and finished.kind == "text"  # no more step buttons


def test_a_voice_note_is_transcribed_and_answered(
    running_stack: RunningStack, fake_graph: FakeGraphApi, worker: ChannelWorker
) -> None:
    media_id = fake_graph.add_media(spoken_ogg_opus("show me the hand hygiene checklist"), "audio/ogg; codecs=opus")
    _turn(running_stack, fake_graph, worker.phone, wa.voice_note(worker.phone, media_id))
    replies = fake_graph.wait_for(worker.phone, 3)
    assert replies[0].text == "🎤 “show me the hand hygiene checklist”"
    assert replies[-1].text.startswith("Step 1 of")
    [turn] = [event for event in running_stack.tracker(worker.id)["events"] if event["event"] == "user"]
    assert turn["metadata"]["channel"] == "whatsapp" and turn["metadata"]["input_mode"] == "command"
    assert 0 < turn["metadata"]["asr_confidence"] <= 1


def test_a_voice_note_over_the_cap_is_refused_with_a_clear_answer(
    running_stack: RunningStack, fake_graph: FakeGraphApi, worker: ChannelWorker
) -> None:
    media_id = fake_graph.add_media(bytes(MAX_MEDIA_BYTES + 1), "audio/ogg; codecs=opus")
    [refusal] = _turn(running_stack, fake_graph, worker.phone, wa.voice_note(worker.phone, media_id))
    assert refusal.text == channel_texts.VOICE_TOO_LARGE
    assert not [event for event in running_stack.tracker(worker.id)["events"] if event["event"] == "user"]


def test_a_voice_note_meta_cannot_hand_over_is_answered_once_in_words_not_redelivered(
    running_stack: RunningStack, fake_graph: FakeGraphApi, worker: ChannelWorker
) -> None:
    webhook = wa.voice_note(worker.phone, "media-that-meta-no-longer-has")
    [told] = _turn(running_stack, fake_graph, worker.phone, webhook)  # 200: not a 500 that Meta sends again
    assert told.text == channel_texts.VOICE_NOT_FETCHED
    assert wa.post_webhook(running_stack.rasa_url, webhook).status_code == 200  # should Meta send it again anyway
    assert [message.text for message in fake_graph.messages_to(worker.phone)] == [channel_texts.VOICE_NOT_FETCHED]
    assert not [event for event in running_stack.tracker(worker.id)["events"] if event["event"] == "user"]


def test_a_worker_who_hides_their_number_is_known_by_the_business_scoped_id(
    running_stack: RunningStack, fake_graph: FakeGraphApi, worker: ChannelWorker
) -> None:
    user_id = f"IN.{worker.phone}0042"
    # The first message carries both; the id is learnt. Later ones may carry only the id.
    assert _turn(running_stack, fake_graph, worker.phone, wa.text(worker.phone, "help", user_id=user_id))
    assert wa.post_webhook(running_stack.rasa_url, wa.text(None, "help", user_id=user_id)).status_code == 200
    [reply] = [message for message in fake_graph.sent if message.body.get("recipient") == user_id][:1]
    assert "to" not in reply.body and reply.text
    assert _user_texts(running_stack, worker.id) == ["help", "help"]
