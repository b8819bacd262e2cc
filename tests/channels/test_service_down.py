"""A service that is down never answers with silence, and the dialogue keeps its place.

The action server of the real running stack is killed (SIGKILL, as a crash
would), the worker speaks through each channel, and the server is started
again. Every turn must get an answer, in the worker's language, and saying
the same thing again once the server is back must carry on where the worker
was, booking nothing twice.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import text

from tests.channels.conftest import ChannelWorker
from tests.support import whatsapp as wa
from tests.support.fake_graph import FakeGraphApi
from tests.support.stack import RunningStack

pytestmark = pytest.mark.stack

SORRY = "Sorry, I could not do that just now. Please say it again."
SORRY_HI = "माफ़ कीजिए, अभी यह नहीं हो सका। कृपया फिर से बोलिए।"


@pytest.fixture
def actions_down(running_stack: RunningStack) -> Iterator[None]:
    """The action server killed with SIGKILL for the test, and started again afterwards."""
    process = running_stack.supervisor.processes["actions"]
    assert process.process is not None
    process.process.send_signal(signal.SIGKILL)
    process.process.wait(timeout=30)
    try:
        yield
    finally:
        running_stack.supervisor.start("actions")


def texts(replies: list[dict]) -> list[str]:
    """What the worker reads (a question's custom payload comes as a message without text)."""
    return [reply["text"] for reply in replies if reply.get("text")]


def consults_of(stack: RunningStack, worker: str) -> list[dict]:
    with stack.backend_db.connect() as connection:
        rows = connection.execute(
            text("SELECT patient_ref, status FROM consults WHERE requested_by = :w"), {"w": worker}
        )
        return [dict(row._mapping) for row in rows]


def test_rest_turns_get_an_apology_and_the_read_back_waits_for_the_same_yes(running_stack: RunningStack) -> None:
    worker = running_stack.new_worker()
    readback = texts(running_stack.say(worker, "routine dermatology consult for patient 7301, itchy rash"))
    assert "Shall I book it?" in readback[-1]

    running_stack.supervisor.processes["actions"].process.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
    running_stack.supervisor.processes["actions"].process.wait(timeout=30)  # type: ignore[union-attr]
    try:
        assert texts(running_stack.say(worker, "yes")) == [SORRY]
        assert texts(running_stack.say(worker, "haan ji")) == [SORRY_HI]  # every turn, in the words' language
        assert consults_of(running_stack, worker) == []
    finally:
        running_stack.supervisor.start("actions")

    # The turns that could not run were rewound: the read-back still waits for its answer.
    assert running_stack.tracker(worker)["slots"]["requested_slot"] == "confirmed"
    booked = texts(running_stack.say(worker, "yes"))
    assert booked[0].startswith("Booked: Dr."), booked
    assert consults_of(running_stack, worker) == [{"patient_ref": "7301", "status": "scheduled"}]


def test_the_apology_is_in_the_workers_language(running_stack: RunningStack, actions_down: None) -> None:
    worker = running_stack.new_worker()
    assert texts(running_stack.say(worker, "मरीज़ की विज़िट दर्ज करो", {"channel": "rest", "language": "hi"})) == [
        SORRY_HI
    ]


def test_a_form_question_keeps_its_place_across_a_crash(running_stack: RunningStack) -> None:
    worker = running_stack.new_worker()
    running_stack.say(worker, "log a visit for patient 7302")
    process = running_stack.supervisor.processes["actions"].process
    assert process is not None
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    try:
        assert texts(running_stack.say(worker, "forty")) == [SORRY]
    finally:
        running_stack.supervisor.start("actions")
    slots = running_stack.tracker(worker)["slots"]
    assert slots["requested_slot"] == "age" and slots["age"] is None  # nothing half taken
    assert "male, female or other" in " ".join(texts(running_stack.say(worker, "forty")))


def test_web_chat_gets_the_apology(running_stack: RunningStack, worker: ChannelWorker, actions_down: None) -> None:
    web = f"{running_stack.rasa_url}/webhooks/web"
    token = requests.post(f"{web}/login", json={"worker_id": worker.id, "pin": worker.pin}, timeout=30).json()["token"]
    # "help" is one of the domain's own replies, which need no action server; a visit does.
    response = requests.post(
        f"{web}/webhook",
        json={"message": "log a visit", "message_id": uuid.uuid4().hex},
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    assert response.status_code == 200
    assert SORRY in [message.get("text") for message in response.json()["messages"]]


def test_whatsapp_gets_the_apology(
    running_stack: RunningStack, fake_graph: FakeGraphApi, worker: ChannelWorker, actions_down: None
) -> None:
    assert wa.post_webhook(running_stack.rasa_url, wa.text(worker.phone, "log a visit")).status_code == 200
    (sent,) = fake_graph.wait_for(worker.phone, 1)
    assert sent.text == SORRY


def test_the_apology_reaches_the_transcript_without_the_tracker_in_any_log(
    running_stack: RunningStack, actions_down: None
) -> None:
    worker = running_stack.new_worker()
    marker = f"patient {int(time.time()) % 10**6:06d}"
    running_stack.say(worker, f"log a visit for {marker}")
    bots = [event.get("text") for event in running_stack.tracker(worker)["events"] if event["event"] == "bot"]
    assert bots[-1] == SORRY  # what the supervisor console shows
    log = (running_stack.settings.data_dir / "logs" / "rasa.log").read_text(errors="replace")
    assert marker not in log and "could not run" in log
