"""Twilio's WhatsApp webhook through the running Rasa server: X-Twilio-Signature is checked."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from xml.etree import ElementTree

import pytest

from assistant.channels import channel_texts
from assistant.channels.media import CHUNK
from assistant.core.rules import MAX_MEDIA_BYTES, MEDIA_FETCH_ATTEMPTS
from tests.channels.conftest import ChannelWorker
from tests.support import whatsapp as wa
from tests.support.fake_graph import FakeGraphApi
from tests.support.media_server import MediaServer
from tests.support.stack import RunningStack
from tests.support.voice_note import spoken_ogg_opus

pytestmark = pytest.mark.stack


def _form(phone: str, body: str, sid: str | None = None) -> dict[str, str]:
    return {
        "MessageSid": sid or f"SM{uuid.uuid4().hex}",
        "AccountSid": "AC" + "0" * 32,
        "From": f"whatsapp:+{phone}",
        "To": "whatsapp:+14155238886",
        "Body": body,
        "NumMedia": "0",
        "ProfileName": "Test Worker",
    }


def _messages(twiml: str) -> list[str]:
    return [element.text or "" for element in ElementTree.fromstring(twiml).iter("Message")]


def test_a_signed_message_is_answered_with_twiml(running_stack: RunningStack, worker: ChannelWorker) -> None:
    response = wa.post_twilio(running_stack.rasa_url, _form(worker.phone, "help"))
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/xml")
    assert _messages(response.text) and all(_messages(response.text))
    assert [e["metadata"]["channel"] for e in running_stack.tracker(worker.id)["events"] if e["event"] == "user"] == [
        "whatsapp"
    ]


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl", "wrong-token"])
def test_missing_or_wrong_signatures_get_403(
    running_stack: RunningStack, worker: ChannelWorker, signature: str | None
) -> None:
    form = _form(worker.phone, "help")
    if signature == "wrong-token":
        signature = wa.twilio_signature(
            f"{running_stack.rasa_url}/webhooks/twilio_whatsapp/webhook", form, "another-accounts-token"
        )
    assert wa.post_twilio(running_stack.rasa_url, form, signature=signature).status_code == 403
    assert not [e for e in running_stack.tracker(worker.id)["events"] if e["event"] == "user"]


def test_a_signature_over_other_parameters_gets_403(running_stack: RunningStack, worker: ChannelWorker) -> None:
    signed = _form(worker.phone, "help")
    signature = wa.twilio_signature(f"{running_stack.rasa_url}/webhooks/twilio_whatsapp/webhook", signed)
    forged = {**signed, "Body": "cancel my consult"}
    assert wa.post_twilio(running_stack.rasa_url, forged, signature=signature).status_code == 403


def test_a_signed_form_without_a_whatsapp_sender_gets_400(running_stack: RunningStack) -> None:
    form = _form("919800000001", "help")
    del form["From"]
    assert wa.post_twilio(running_stack.rasa_url, form).status_code == 400


def test_an_unknown_sender_is_refused(running_stack: RunningStack) -> None:
    response = wa.post_twilio(running_stack.rasa_url, _form(wa.new_phone(), "help"))
    assert response.status_code == 200 and "not registered" in _messages(response.text)[0]


def test_a_repeated_message_sid_is_not_processed_again(running_stack: RunningStack, worker: ChannelWorker) -> None:
    form = _form(worker.phone, "help")
    assert _messages(wa.post_twilio(running_stack.rasa_url, form).text)
    again = wa.post_twilio(running_stack.rasa_url, form)
    assert again.status_code == 200 and _messages(again.text) == []
    assert len([e for e in running_stack.tracker(worker.id)["events"] if e["event"] == "user"]) == 1


def test_a_voice_note_is_transcribed_and_answered(
    running_stack: RunningStack, fake_graph: FakeGraphApi, worker: ChannelWorker
) -> None:
    media_id = fake_graph.add_media(spoken_ogg_opus("help"), "audio/ogg")
    form = {
        **_form(worker.phone, ""),
        "NumMedia": "1",
        "MediaContentType0": "audio/ogg",
        "MediaUrl0": f"{fake_graph.url}/public-media/{media_id}",
    }
    messages = _messages(wa.post_twilio(running_stack.rasa_url, form).text)
    assert messages[0] == "🎤 “help”" and len(messages) >= 2
    [turn] = [e for e in running_stack.tracker(worker.id)["events"] if e["event"] == "user"]
    assert turn["text"] == "help" and 0 < turn["metadata"]["asr_confidence"] <= 1


@pytest.fixture(scope="module")
def foreign_host() -> Iterator[MediaServer]:
    """A media host the stack was not told to fetch from (its allowed ones: ``stack_settings``)."""
    server = MediaServer().start()
    yield server
    server.stop()


@pytest.mark.parametrize("route", ["chunked", "declared"])
def test_a_voice_note_over_the_cap_is_refused_with_a_clear_answer(
    running_stack: RunningStack, worker: ChannelWorker, media_server: MediaServer, route: str
) -> None:
    form = {
        **_form(worker.phone, ""),
        "NumMedia": "1",
        "MediaContentType0": "audio/ogg",
        "MediaUrl0": f"{media_server.url}/{route}/{MAX_MEDIA_BYTES + CHUNK}",
    }
    response = wa.post_twilio(running_stack.rasa_url, form)
    assert response.status_code == 200
    assert _messages(response.text) == [channel_texts.VOICE_TOO_LARGE]
    assert not [e for e in running_stack.tracker(worker.id)["events"] if e["event"] == "user"]


def test_a_voice_note_on_another_host_is_not_fetched_and_the_worker_is_told(
    running_stack: RunningStack, worker: ChannelWorker, foreign_host: MediaServer
) -> None:
    form = {
        **_form(worker.phone, ""),
        "NumMedia": "1",
        "MediaContentType0": "audio/ogg",
        "MediaUrl0": f"{foreign_host.url}/chunked/{CHUNK}",
    }
    response = wa.post_twilio(running_stack.rasa_url, form)
    assert response.status_code == 200
    assert _messages(response.text) == [channel_texts.VOICE_NOT_FETCHED]
    assert foreign_host.requests == []  # not asked for anything, with or without the account's credentials
    assert not [e for e in running_stack.tracker(worker.id)["events"] if e["event"] == "user"]


def test_a_voice_note_the_media_host_keeps_failing_is_answered_once_in_words(
    running_stack: RunningStack, worker: ChannelWorker, media_server: MediaServer
) -> None:
    path = f"/flaky/99/{uuid.uuid4().hex}"  # 503, however often it is asked
    form = {
        **_form(worker.phone, ""),
        "NumMedia": "1",
        "MediaContentType0": "audio/ogg",
        "MediaUrl0": media_server.url + path,
    }
    response = wa.post_twilio(running_stack.rasa_url, form)
    assert response.status_code == 200 and _messages(response.text) == [channel_texts.VOICE_NOT_FETCHED]
    assert sum(1 for request in media_server.requests if request.path == path) == MEDIA_FETCH_ATTEMPTS
    assert _messages(wa.post_twilio(running_stack.rasa_url, form).text) == []  # its answer went out: said once
