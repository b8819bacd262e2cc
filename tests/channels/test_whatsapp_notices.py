"""Hub notices pushed to WhatsApp workers without waiting for them: the Cloud API and Twilio, exactly once.

Meta's and Twilio's sides are ``fake_graph`` (a local server speaking both
protocols). The rest is real: ``rasa run`` with its background push, the
backend and its database, the channel state. A worker "wrote a day ago" by
an event added to their conversation through Rasa's own HTTP API, with that
time and the app's input channel, as a message then would have left it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import requests
from sqlalchemy import create_engine, text

from assistant.channels.state import ChannelState
from assistant.channels.whatsapp.delivery import Delivery
from assistant.channels.whatsapp.graph import GraphClient, RetryPolicy
from assistant.channels.whatsapp.outbound import Recipient, text_bodies
from tests.channels.conftest import CONTENT_SID, TEMPLATE, TWILIO_ACCOUNT, TWILIO_NUMBER, ChannelWorker
from tests.channels.test_hub_notices import (
    assert_no_patient_in_logs,
    delivery_of,
    forget_delivery,
    new_notice,
    notice_texts,
    patient_ref,
    told_in_tracker,
    wait_delivered,
    wait_until,
)
from tests.support import whatsapp as wa
from tests.support.fake_graph import FakeGraphApi, SentMessage
from tests.support.postgres import PostgresServer
from tests.support.stack import RunningStack

A_DAY_AGO = 25 * 3600.0  # seconds: past WhatsApp's 24-hour window


# --- the conversation and the channel state, as the test finds them ------------------------------


def wrote_long_ago(stack: RunningStack, worker_id: str, input_channel: str) -> None:
    """The worker's message of a day ago through one app, added to their conversation with Rasa's HTTP API."""
    said = {
        "event": "user",
        "text": "hello",
        "timestamp": time.time() - A_DAY_AGO,
        "input_channel": input_channel,
        "parse_data": {"intent": {"name": "greet", "confidence": 1.0}, "entities": [], "text": "hello"},
        "metadata": {"channel": "whatsapp"},
    }
    response = requests.post(
        f"{stack.rasa_url}/conversations/{worker_id}/tracker/events",
        params={"token": stack.rasa_token},
        json=said,
        timeout=30,
    )
    response.raise_for_status()


def registered(stack: RunningStack) -> tuple[str, str]:
    """A fresh worker and their WhatsApp number."""
    worker_id, phone = stack.new_worker(), wa.new_phone()
    with stack.backend_db.begin() as connection:
        connection.execute(
            text("UPDATE workers SET phone = :phone WHERE id = :id"), {"phone": "+" + phone, "id": worker_id}
        )
    return worker_id, phone


def queued_under(stack: RunningStack, notice_id: int) -> list[dict[str, Any]]:
    """The channel state's outbound rows keyed by the notice."""
    engine = create_engine(stack.settings.channels_database_url, future=True)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT channel, status, dedupe_key FROM undelivered_replies WHERE dedupe_key LIKE :key"),
                {"key": f"hub-notice:{notice_id}%"},
            )
            return [dict(row) for row in rows.mappings()]
    finally:
        engine.dispose()


def mentioning(messages: list[Any], patient: str) -> list[Any]:
    return [message for message in messages if patient in message.text]


def wait_for_graph(graph: FakeGraphApi, phone: str, patient: str) -> SentMessage:
    [found] = wait_until(lambda: mentioning(graph.messages_to(phone), patient), "the notice at the Graph API")
    return found


def told_again_quietly(stack: RunningStack, notice_id: int) -> None:
    """The delivered mark is lost; the next round must find the notice told and only mark it again."""
    forget_delivery(stack, notice_id)
    wait_delivered(stack, notice_id)


# --- the WhatsApp Cloud API (the session's stack: no template, no Twilio sender) ---------------------


def _wrote_today(stack: RunningStack, graph: FakeGraphApi, phone: str) -> None:
    assert wa.post_webhook(stack.rasa_url, wa.text(phone, "help")).status_code == 200
    graph.wait_for(phone, 1)


def test_a_worker_who_wrote_today_gets_the_notice_as_text_once(
    running_stack: RunningStack, fake_graph: FakeGraphApi, worker: ChannelWorker
) -> None:
    _wrote_today(running_stack, fake_graph, worker.phone)
    patient = patient_ref()
    notice_id = new_notice(running_stack, worker.id, "whatsapp", patient)

    sent = wait_for_graph(fake_graph, worker.phone, patient)
    assert sent.kind == "text" and sent.text == notice_texts(patient)["en"]
    assert wait_delivered(running_stack, notice_id) == "whatsapp"
    assert queued_under(running_stack, notice_id) == [
        {"channel": "whatsapp", "status": "sent", "dedupe_key": f"hub-notice:{notice_id}"}
    ]
    told_again_quietly(running_stack, notice_id)
    assert len(mentioning(fake_graph.messages_to(worker.phone), patient)) == 1
    assert len(told_in_tracker(running_stack, worker.id, notice_id)) == 1
    assert_no_patient_in_logs(running_stack, patient)


def test_while_the_graph_api_is_down_the_notice_waits_and_goes_once_it_is_back(
    running_stack: RunningStack, fake_graph: FakeGraphApi, worker: ChannelWorker
) -> None:
    _wrote_today(running_stack, fake_graph, worker.phone)
    before = len(fake_graph.messages_to(worker.phone))
    attempts = fake_graph.attempts_to[worker.phone]
    fake_graph.fail_for(worker.phone, 1000)
    try:
        patient = patient_ref()
        notice_id = new_notice(running_stack, worker.id, "whatsapp", patient)
        # Queued for good before it is marked: the channel state now owes it to the worker.
        assert wait_delivered(running_stack, notice_id) == "whatsapp"
        wait_until(lambda: fake_graph.attempts_to[worker.phone] > attempts, "a first attempt")
        assert queued_under(running_stack, notice_id)[0]["status"] == "waiting"
        assert len(fake_graph.messages_to(worker.phone)) == before
    finally:
        fake_graph.fail_for(worker.phone, 0)
    assert wait_for_graph(fake_graph, worker.phone, patient).text == notice_texts(patient)["en"]
    wait_until(lambda: queued_under(running_stack, notice_id)[0]["status"] == "sent", "the sent mark")
    assert len(mentioning(fake_graph.messages_to(worker.phone), patient)) == 1


def test_a_whatsapp_turn_starts_with_a_pending_notice_from_another_channel(
    running_stack: RunningStack, fake_graph: FakeGraphApi, worker: ChannelWorker
) -> None:
    patient = patient_ref()
    notice_id = new_notice(running_stack, worker.id, "web", patient)  # nobody pushes the web chat's news
    assert wa.post_webhook(running_stack.rasa_url, wa.text(worker.phone, "help")).status_code == 200
    sent = fake_graph.wait_for(worker.phone, 2)
    assert sent[0].text == notice_texts(patient)["en"] and patient not in sent[1].text
    assert delivery_of(running_stack, notice_id)[1] == "whatsapp"


def test_without_a_template_the_notice_waits_for_the_workers_next_message(
    running_stack: RunningStack, fake_graph: FakeGraphApi, worker: ChannelWorker
) -> None:
    patient = patient_ref()
    notice_id = new_notice(running_stack, worker.id, "whatsapp", patient)  # never wrote: the window is shut
    log = running_stack.settings.data_dir / "logs" / "rasa.log"
    warning = f"hub notice {notice_id} for worker {worker.id} not pushed through whatsapp"
    wait_until(lambda: warning in log.read_text(errors="replace"), "the warning")

    # Later rounds ran (another worker's notice went out) and the notice still waits, warned of once.
    other, other_phone = registered(running_stack)
    _wrote_today(running_stack, fake_graph, other_phone)
    assert wait_delivered(running_stack, new_notice(running_stack, other, "whatsapp", patient_ref())) == "whatsapp"
    assert delivery_of(running_stack, notice_id) == (None, None)
    assert log.read_text(errors="replace").count(warning) == 1
    assert fake_graph.messages_to(worker.phone) == []

    assert wa.post_webhook(running_stack.rasa_url, wa.text(worker.phone, "help")).status_code == 200
    sent = fake_graph.wait_for(worker.phone, 2)
    assert sent[0].text == notice_texts(patient)["en"]
    assert wait_delivered(running_stack, notice_id) == "whatsapp"
    assert len(told_in_tracker(running_stack, worker.id, notice_id)) == 1


# --- the channel state's key, between two servers -------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The channel state of two servers: one SQLite file, or one PostgreSQL database (scale-out)."""
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres")
        return server.create_database(f"push_{uuid.uuid4().hex[:8]}")
    return f"sqlite:///{tmp_path / 'channels.db'}"


async def test_two_servers_queueing_one_notice_queue_and_send_it_once(fake_graph: FakeGraphApi, state_url: str) -> None:
    url = state_url
    first, twin = ChannelState(url, identity_key="push-test"), ChannelState(url, identity_key="push-test")
    client = GraphClient(fake_graph.url, "v21.0", wa.ACCESS_TOKEN, RetryPolicy(attempts=1))
    phone = wa.new_phone()
    bodies = text_bodies(Recipient(phone=phone), "One update: your consult has moved.")
    try:
        servers = [Delivery(client, first), Delivery(client, twin)]
        queued = await asyncio.gather(
            *(server.enqueue("109876543210", "W001", bodies, "hub-notice:1") for server in servers)
        )
        assert sorted(queued) == [False, True]
        await asyncio.gather(*(server.flush() for server in servers))
        assert await servers[1].enqueue("109876543210", "W001", bodies, "hub-notice:1") is False  # sent: still taken
        await asyncio.gather(*(server.flush() for server in servers))
    finally:
        await client.close()
        await first.close()
        await twin.close()
    assert [message.text for message in fake_graph.messages_to(phone)] == ["One update: your consult has moved."]


# --- a stack with a template and a Twilio sender: outside the window, and Twilio beside the Cloud API ----


def _twilio_form(phone: str, body: str) -> dict[str, str]:
    return {
        "MessageSid": f"SM{uuid.uuid4().hex}",
        "AccountSid": TWILIO_ACCOUNT,
        "From": f"whatsapp:+{phone}",
        "To": f"whatsapp:{TWILIO_NUMBER}",
        "Body": body,
        "NumMedia": "0",
    }


def _wait_for_twilio(graph: FakeGraphApi, phone: str, patient: str) -> Any:
    found = wait_until(lambda: mentioning(graph.twilio_messages_to(f"whatsapp:+{phone}"), patient), "Twilio's send")
    assert len(found) == 1
    return found[0]


@pytest.mark.slow
def test_twilio_sends_text_inside_the_window_and_the_content_template_outside(
    push_stack: RunningStack, fake_graph: FakeGraphApi
) -> None:
    writer, writer_phone = registered(push_stack)
    answer = wa.post_twilio(push_stack.rasa_url, _twilio_form(writer_phone, "help"))
    assert [m.text for m in ElementTree.fromstring(answer.text).iter("Message")]
    quiet, quiet_phone = registered(push_stack)
    wrote_long_ago(push_stack, quiet, "twilio_whatsapp")
    patients = {writer: patient_ref(), quiet: patient_ref()}
    notices = {worker: new_notice(push_stack, worker, "whatsapp", patient) for worker, patient in patients.items()}

    as_text = _wait_for_twilio(fake_graph, writer_phone, patients[writer])
    assert as_text.form["From"] == f"whatsapp:{TWILIO_NUMBER}"
    assert as_text.form["Body"] == notice_texts(patients[writer])["en"] and "ContentSid" not in as_text.form
    as_template = _wait_for_twilio(fake_graph, quiet_phone, patients[quiet])
    assert as_template.form["ContentSid"] == CONTENT_SID and "Body" not in as_template.form
    assert as_template.text == notice_texts(patients[quiet])["en"]  # ContentVariables {"1": the notice}
    for worker, notice_id in notices.items():
        assert wait_delivered(push_stack, notice_id) == "twilio"
        told_again_quietly(push_stack, notice_id)
        assert len(told_in_tracker(push_stack, worker, notice_id)) == 1
    assert len(mentioning(fake_graph.twilio_messages_to(f"whatsapp:+{writer_phone}"), patients[writer])) == 1
    assert len(mentioning(fake_graph.twilio_messages_to(f"whatsapp:+{quiet_phone}"), patients[quiet])) == 1
    # Each went through the app its worker uses: nothing of theirs through the Cloud API.
    assert fake_graph.messages_to(writer_phone) == fake_graph.messages_to(quiet_phone) == []


@pytest.mark.slow
@pytest.mark.parametrize("last_wrote", ["never", "a day ago"])
def test_outside_the_24_hour_window_the_notice_goes_as_the_configured_template(
    push_stack: RunningStack, fake_graph: FakeGraphApi, last_wrote: str
) -> None:
    worker_id, phone = registered(push_stack)
    if last_wrote == "a day ago":
        wrote_long_ago(push_stack, worker_id, "whatsapp")
    patient = patient_ref()
    notice_id = new_notice(push_stack, worker_id, "whatsapp", patient)

    sent = wait_for_graph(fake_graph, phone, patient)
    assert sent.kind == "template" and sent.template == (TEMPLATE, "hi")
    assert sent.body["template"]["components"] == [
        {"type": "body", "parameters": [{"type": "text", "text": notice_texts(patient)["en"]}]}
    ]
    assert wait_delivered(push_stack, notice_id) == "whatsapp"
    told_again_quietly(push_stack, notice_id)
    assert len(mentioning(fake_graph.messages_to(phone), patient)) == 1
    assert len(told_in_tracker(push_stack, worker_id, notice_id)) == 1
    assert fake_graph.twilio_messages_to(f"whatsapp:+{phone}") == []  # never wrote through Twilio: the Cloud API's
