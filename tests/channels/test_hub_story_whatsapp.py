"""The consult loop closed with a WhatsApp worker, the hub working through the backend API with its own tokens.

As an outside check would: the coordinator (``assistant token create --role
coordinator --worker H001``) reads the queue and assigns, the specialist
completes with advice, the worker asks "consult status" on WhatsApp. Inside
the 24-hour window the notices come as text; outside it (the worker's
messages are a day old) as the configured template. Meta's side is the local
Graph API peer; everything else is the real stack (``push_stack``). No
browser here: Playwright's loop would be running when the stack starts.
"""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

import pytest
import requests
from sqlalchemy import text

from assistant.console.demo import DEMO_COORDINATOR
from tests.channels.conftest import TEMPLATE
from tests.channels.test_hub_story import (
    ADVICE,
    FOLLOW_UP,
    NOTICE_WAIT_MS,
    SPECIALTY,
    specialist_login,
    take_every_slot_of_the_next_day,
)
from tests.support import whatsapp as wa
from tests.support.fake_graph import FakeGraphApi, SentMessage
from tests.support.processes import assistant_cli
from tests.support.stack import RunningStack

pytestmark = [pytest.mark.stack, pytest.mark.slow]


class HubApi:
    """The coordinator and the specialist at the backend, each with their own token."""

    def __init__(self, stack: RunningStack) -> None:
        self.stack = stack
        self.tokens: dict[str, str] = {}

    def call(self, method: str, path: str, who: str, role: str, body: object = None, **query: str) -> object:
        if who not in self.tokens:
            args = ("token", "create", "--db", self.stack.backend_db_url, "--role", role, "--worker", who)
            self.tokens[who] = assistant_cli(*args).strip()
        headers = {"Authorization": f"Bearer {self.tokens[who]}", "Idempotency-Key": uuid.uuid4().hex}
        response = requests.request(
            method, self.stack.backend_url + path, json=body, params=query, headers=headers, timeout=30
        )
        assert response.status_code == 200, response.text
        return response.json()


def _whatsapp_turn(stack: RunningStack, graph: FakeGraphApi, phone: str, body: dict[str, Any]) -> SentMessage:
    before = len(graph.messages_to(phone))
    assert wa.post_webhook(stack.rasa_url, body).status_code == 200
    return graph.wait_for(phone, before + 1)[-1]


def _request_by_whatsapp(stack: RunningStack, graph: FakeGraphApi, phone: str, patient: str) -> str:
    specialties = _whatsapp_turn(stack, graph, phone, wa.text(phone, "I need to request a consult"))
    number = next(
        line.split(".")[0] for line in specialties.text.splitlines() if line.endswith(". obstetrics and gynecology")
    )
    urgency = _whatsapp_turn(stack, graph, phone, wa.text(phone, number))
    _whatsapp_turn(stack, graph, phone, wa.tap(phone, dict(urgency.choices)["urgent"], "urgent"))
    _whatsapp_turn(stack, graph, phone, wa.text(phone, f"patient {patient}"))
    readback = _whatsapp_turn(stack, graph, phone, wa.text(phone, "swelling of the feet and headache"))
    return _whatsapp_turn(stack, graph, phone, wa.tap(phone, dict(readback.choices)["Yes"], "Yes")).text


def _a_day_passes(stack: RunningStack, worker_id: str) -> None:
    """The worker's messages were all written more than a day ago: WhatsApp's 24-hour window is closed."""
    with stack.engine(stack.tracker_db_url).begin() as connection:
        connection.execute(
            text(
                "UPDATE events SET timestamp = timestamp - :shift, "
                "data = json_set(data, '$.timestamp', json_extract(data, '$.timestamp') - :shift) "
                "WHERE sender_id = :worker"
            ),
            {"shift": 25 * 3600, "worker": worker_id},
        )


def _notices_to(graph: FakeGraphApi, phone: str, patient: str) -> list[SentMessage]:
    return [m for m in graph.messages_to(phone) if m.text.startswith("One update") and f"patient {patient}" in m.text]


def _pushed(graph: FakeGraphApi, phone: str, patient: str, count: int) -> SentMessage:
    """The ``count``-th hub notice about ``patient`` sent to ``phone`` (waits for the push)."""
    deadline = time.monotonic() + NOTICE_WAIT_MS / 1000
    while time.monotonic() < deadline:
        found = _notices_to(graph, phone, patient)
        if len(found) >= count:
            return found[count - 1]
        time.sleep(0.25)
    raise AssertionError(f"no hub notice {count} to {phone}")


@pytest.mark.parametrize("window", ["open", "closed"])
def test_a_whatsapp_worker_is_told_by_text_inside_the_window_and_by_template_outside_it(
    push_stack: RunningStack, fake_graph: FakeGraphApi, window: str
) -> None:
    stack, patient = push_stack, str(random.randint(700_000, 799_999))
    worker_id, phone = stack.new_worker(), wa.new_phone()
    with stack.backend_db.begin() as connection:
        connection.execute(text("UPDATE workers SET phone = :p WHERE id = :id"), {"p": "+" + phone, "id": worker_id})
    take_every_slot_of_the_next_day(stack)
    queued = _request_by_whatsapp(stack, fake_graph, phone, patient)
    assert "with the hub" in queued
    if window == "closed":
        _a_day_passes(stack, worker_id)

    hub = HubApi(stack)
    waiting = hub.call("GET", "/hub/queue", DEMO_COORDINATOR, "coordinator")
    mine = next(item for item in waiting["items"] if item["patient_ref"] == patient)  # type: ignore[index]
    assert waiting["items"][0]["id"] == mine["id"]  # type: ignore[index]  # urgent, and older than none above it
    free = hub.call("GET", "/slots", DEMO_COORDINATOR, "coordinator", specialty=SPECIALTY, free="true")
    slot = free["items"][0]  # type: ignore[index]
    hub.call("POST", f"/consults/{mine['id']}/assign", DEMO_COORDINATOR, "coordinator", {"slot_id": slot["id"]})

    scheduled = _pushed(fake_graph, phone, patient, 1)
    assert scheduled.kind == ("text" if window == "open" else "template")
    if window == "closed":
        assert scheduled.template == (TEMPLATE, "hi")
    assert slot["specialist_name"] in scheduled.text

    login = specialist_login(stack, int(slot["specialist_id"]))
    advice = {"advice": ADVICE, "follow_up": FOLLOW_UP}
    hub.call("POST", f"/consults/{mine['id']}/complete", login, "specialist", advice)
    completed = _pushed(fake_graph, phone, patient, 2)
    assert completed.kind == scheduled.kind and "completed" in completed.text
    assert len(_notices_to(fake_graph, phone, patient)) == 2  # each told once

    status = _whatsapp_turn(stack, fake_graph, phone, wa.text(phone, "consult status"))
    said = " ".join(m.text for m in fake_graph.messages_to(phone)[-3:])
    assert status.kind == "text" and f'"{ADVICE}"' in said and "in the specialist's own words" in said
