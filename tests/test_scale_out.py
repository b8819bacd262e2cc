"""District scale-out: two `rasa run` servers sharing a PostgreSQL tracker store and a Redis lock store.

A worker's turns land on either server (as behind a load balancer) and the
conversation carries on: the checklist position and a half-filled form live
in the shared tracker store, not in one server's memory.

One message, one turn (issue 27): a message delivered again, to either
server, is never run again. Each case walks the hand hygiene checklist and
sends a "next" twice: on REST after a cut connection, on WhatsApp and Twilio
to server A and then server B (after the turn ran, and while it still runs:
the action server is frozen mid-turn with SIGSTOP), on the web chat after
server A is killed (SIGKILL) mid-turn. The checklist must advance once.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from xml.etree import ElementTree

import pytest
import requests
from sqlalchemy import text

from tests.support import whatsapp as wa
from tests.support.fake_graph import FakeGraphApi
from tests.support.postgres import PostgresServer
from tests.support.processes import assistant_cli, paused
from tests.support.redis import RedisServer
from tests.support.stack import RunningStack, start_district

pytestmark = pytest.mark.stack

CHECKLIST = "show me the hand hygiene checklist"
STEP = re.compile(r"Step (\d+) of")
WEB_PIN = "274019"
MID_TURN_SECONDS = 1.5  # long enough for a request to reach Rasa and wait on the frozen action server


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def district(
    tmp_path_factory: pytest.TempPathFactory, postgres: PostgresServer, redis: RedisServer, fake_graph: FakeGraphApi
) -> Iterator[tuple[RunningStack, str]]:
    """The stack on PostgreSQL + Redis, plus a second Rasa server; yields the stack and the second server's URL.

    Its WhatsApp and Twilio channels talk to ``fake_graph``.
    """
    stack, second_url = start_district(
        tmp_path_factory.mktemp("district"), postgres, redis, **wa.stack_settings(fake_graph.url)
    )
    yield stack, second_url
    stack.stop()


def test_a_conversation_moves_between_rasa_servers(district: tuple[RunningStack, str]) -> None:
    stack, second_url = district
    first_url = stack.rasa_url
    worker = stack.new_worker()

    def say(url: str, sender: str, message: str) -> str:
        return "\n".join(reply.get("text", "") for reply in stack.say(sender, message, url=url))

    assert "Step 1 of" in say(first_url, worker, "show me the hand hygiene checklist")
    assert "Step 2 of" in say(second_url, worker, "next")
    assert "Step 3 of" in say(first_url, worker, "next")
    say(second_url, worker, "stop")

    readback = say(first_url, worker, "urgent ent consult for patient 3307, ear discharge")
    assert "3307" in readback
    assert say(second_url, worker, "yes").startswith("Booked: Dr.")

    with stack.backend_db.connect() as connection:
        rows = connection.execute(
            text("SELECT specialty, status FROM consults WHERE requested_by = :w"), {"w": worker}
        ).all()
    assert [tuple(row) for row in rows] == [("ent", "scheduled")]
    with stack.engine(stack.tracker_db_url).connect() as connection:
        senders = connection.execute(
            text("SELECT COUNT(*) FROM events WHERE sender_id = :w"), {"w": worker}
        ).scalar_one()
    assert senders > 0  # the transcript is in PostgreSQL


# --- one message, one turn ------------------------------------------------------------


def _steps(texts: list[str]) -> list[int]:
    return [int(found) for said in texts for found in STEP.findall(said)]


def _worker_with_phone(stack: RunningStack) -> tuple[str, str]:
    worker, phone = stack.new_worker(), wa.new_phone()
    with stack.backend_db.begin() as connection:
        connection.execute(
            text("UPDATE workers SET phone = :phone WHERE id = :id"), {"phone": "+" + phone, "id": worker}
        )
    return worker, phone


def _user_turns(stack: RunningStack, worker: str, words: str) -> int:
    """How many times the worker's conversation heard ``words``: each a turn that ran."""
    with stack.engine(stack.tracker_db_url).connect() as connection:
        events = connection.execute(
            text("SELECT data FROM events WHERE sender_id = :w AND type_name = 'user'"), {"w": worker}
        ).scalars()
        return sum(1 for data in events if f'"text": "{words}"' in data)


def _in_background(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """``call()`` on a thread, started now; the list gets its result, or the exception it raised."""
    result: list[Any] = []

    def run() -> None:
        try:
            result.append(call())
        except Exception as exc:  # the test looks at it
            result.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def _actions_pid(stack: RunningStack) -> int:
    pid = stack.supervisor.processes["actions"].pid
    assert pid is not None
    return pid


def test_a_rest_resend_after_a_cut_connection_gets_the_first_turns_replies(district: tuple[RunningStack, str]) -> None:
    stack, _ = district
    worker = stack.new_worker()
    assert _steps([reply.get("text") or "" for reply in stack.say(worker, CHECKLIST)]) == [1]
    body = {"message": "next", "message_id": uuid.uuid4().hex, "metadata": {"channel": "rest"}}
    headers = {"Authorization": f"Bearer {stack.worker_token(worker)}"}
    url = f"{stack.rasa_url}/webhooks/rest/webhook"
    with paused(_actions_pid(stack)):
        with pytest.raises(requests.exceptions.ReadTimeout):  # the client gives up: its connection is cut
            requests.post(url, json=body, headers=headers, timeout=MID_TURN_SECONDS)
        resend, answer = _in_background(lambda: requests.post(url, json=body, headers=headers, timeout=60))
        resend.join(MID_TURN_SECONDS)  # the resend waits for the turn that is still running
    resend.join(60)
    assert answer[0].status_code == 200
    assert _steps([reply.get("text") or "" for reply in answer[0].json()]) == [2]
    assert _steps([reply.get("text") or "" for reply in stack.say(worker, "next")]) == [
        3
    ]  # the checklist advanced once
    assert _user_turns(stack, worker, "next") == 2


def test_a_whatsapp_redelivery_to_another_server_sends_nothing_twice(
    district: tuple[RunningStack, str], fake_graph: FakeGraphApi
) -> None:
    stack, second_url = district
    worker, phone = _worker_with_phone(stack)

    def sent_steps() -> list[int]:
        return _steps([message.text for message in fake_graph.messages_to(phone)])

    assert wa.post_webhook(stack.rasa_url, wa.text(phone, CHECKLIST)).status_code == 200
    fake_graph.wait_for(phone, 1, until=lambda sent: sent_steps() == [1])
    # A turn that ran on server A, delivered again to server B: acknowledged, nothing sent.
    ran = wa.text(phone, "next")
    assert wa.post_webhook(stack.rasa_url, ran).status_code == 200
    assert wa.post_webhook(second_url, ran).status_code == 200
    # A turn still running on server A (its action server frozen), delivered again to server B meanwhile.
    running = wa.text(phone, "next")
    with paused(_actions_pid(stack)):
        first, first_answer = _in_background(lambda: wa.post_webhook(stack.rasa_url, running))
        first.join(MID_TURN_SECONDS)
        again, again_answer = _in_background(lambda: wa.post_webhook(second_url, running))
        again.join(MID_TURN_SECONDS)
    first.join(60), again.join(60)
    assert [first_answer[0].status_code, again_answer[0].status_code] == [200, 200]
    assert wa.post_webhook(second_url, wa.text(phone, "next")).status_code == 200
    fake_graph.wait_for(phone, 4, until=lambda sent: sent_steps()[-1:] == [4])
    assert sent_steps() == [1, 2, 3, 4]  # each step once: no reply sent twice, no step skipped
    assert _user_turns(stack, worker, "next") == 3


def _twilio_form(phone: str, body: str) -> dict[str, str]:
    return {
        "MessageSid": f"SM{uuid.uuid4().hex}",
        "From": f"whatsapp:+{phone}",
        "To": "whatsapp:+14155238886",
        "Body": body,
    }


def _twiml_steps(answer: requests.Response) -> list[int]:
    assert answer.status_code == 200
    return _steps([element.text or "" for element in ElementTree.fromstring(answer.text).iter("Message")])


def test_a_twilio_redelivery_to_another_server_runs_nothing_twice(district: tuple[RunningStack, str]) -> None:
    stack, second_url = district
    worker, phone = _worker_with_phone(stack)
    assert _twiml_steps(wa.post_twilio(stack.rasa_url, _twilio_form(phone, CHECKLIST))) == [1]
    # A turn answered on server A, delivered again to server B: its answer went out already.
    ran = _twilio_form(phone, "next")
    assert _twiml_steps(wa.post_twilio(stack.rasa_url, ran)) == [2]
    assert _twiml_steps(wa.post_twilio(second_url, ran)) == []
    # A turn still running on server A when Twilio hangs up, delivered again to server B: B answers it.
    running = _twilio_form(phone, "next")
    signed_for_a = {
        "X-Twilio-Signature": wa.twilio_signature(f"{stack.rasa_url}/webhooks/twilio_whatsapp/webhook", running)
    }
    with paused(_actions_pid(stack)):
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.post(
                f"{stack.rasa_url}/webhooks/twilio_whatsapp/webhook",
                data=running,
                headers=signed_for_a,
                timeout=MID_TURN_SECONDS,
            )
        again, answer = _in_background(lambda: wa.post_twilio(second_url, running))
        again.join(MID_TURN_SECONDS)
    again.join(60)
    assert _twiml_steps(answer[0]) == [3]
    assert _twiml_steps(wa.post_twilio(second_url, _twilio_form(phone, "next"))) == [4]
    assert _user_turns(stack, worker, "next") == 3


def test_a_web_retry_after_the_server_is_killed_mid_turn_is_answered_within_seconds(
    district: tuple[RunningStack, str],
) -> None:
    """Last in the module: server A stays dead."""
    stack, second_url = district
    worker = stack.new_worker()
    assistant_cli("worker", "pin", worker, "--pin", WEB_PIN, "--db", stack.backend_db_url)
    login = requests.post(
        f"{stack.rasa_url}/webhooks/web/login", json={"worker_id": worker, "pin": WEB_PIN}, timeout=30
    )
    headers = {"Authorization": f"Bearer {login.json()['token']}"}

    def say(url: str, message: str, message_id: str, timeout: float = 60) -> list[int]:
        answer = requests.post(
            f"{url}/webhooks/web/webhook",
            json={"message": message, "message_id": message_id},
            headers=headers,
            timeout=timeout,
        )
        assert answer.status_code == 200, answer.text
        return _steps([message.get("text") or "" for message in answer.json()["messages"]])

    assert say(stack.rasa_url, CHECKLIST, uuid.uuid4().hex) == [1]
    message_id = uuid.uuid4().hex
    rasa = stack.supervisor.processes["rasa"]
    with paused(_actions_pid(stack)):
        first, _ = _in_background(lambda: say(stack.rasa_url, "next", message_id))
        first.join(MID_TURN_SECONDS)
        assert rasa.process is not None
        rasa.process.kill()  # SIGKILL, mid-turn: its claim and its conversation lock are left behind
        rasa.process.wait()
    started = time.monotonic()
    assert say(second_url, "next", message_id) == [2]  # the page's retry, on the other server
    assert time.monotonic() - started < 10  # not the claim's lease, nor Rasa's 60-second lock
    assert say(second_url, "next", uuid.uuid4().hex) == [3]
    assert _user_turns(stack, worker, "next") == 2
