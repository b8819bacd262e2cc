"""Text that is not Unicode (JSON's escaped lone surrogate, "\\ud800") gets a clear 400 on every channel's JSON.

Python's json decodes the escape into a str that no UTF-8 encoder takes.
Rasa's tracker store would keep it (as the same escape), and the console's
transcript of that conversation would fail on it ever after (a 500); the
backend refuses it (tests/backend/test_bad_input.py). Each channel refuses it
where it reads the body, so no conversation holds it.
"""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from tests.channels.conftest import ChannelWorker
from tests.support import whatsapp as wa
from tests.support.stack import RunningStack

pytestmark = pytest.mark.stack

# The JSON escape for half of a UTF-16 surrogate pair; ``requests`` and ``json.dumps`` write this str so.
LONE_SURROGATE = "\ud800"


def _refused(response: requests.Response, naming: str) -> None:
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert "not valid Unicode" in message and naming in message


def _user_turns(stack: RunningStack, worker_id: str) -> list[dict]:
    return [event for event in stack.tracker(worker_id)["events"] if event["event"] == "user"]


def test_the_rest_channel(running_stack: RunningStack) -> None:
    worker = running_stack.new_worker()
    token = running_stack.worker_token(worker)
    body = {"sender": worker, "message": f"help {LONE_SURROGATE}", "metadata": {"channel": "rest"}}
    _refused(running_stack.post_turn(token, body), "message")
    _refused(running_stack.post_turn(token, {"message": "help", "metadata": {"language": LONE_SURROGATE}}), "metadata")
    assert _user_turns(running_stack, worker) == []


def test_the_web_chat(running_stack: RunningStack, worker: ChannelWorker) -> None:
    web = f"{running_stack.rasa_url}/webhooks/web"
    _refused(requests.post(f"{web}/login", json={"worker_id": LONE_SURROGATE, "pin": "1"}, timeout=30), "worker_id")
    signed_in = requests.post(f"{web}/login", json={"worker_id": worker.id, "pin": worker.pin}, timeout=30)
    headers = {"Authorization": f"Bearer {signed_in.json()['token']}"}
    body = {"message": f"help {LONE_SURROGATE}", "message_id": uuid.uuid4().hex}
    _refused(requests.post(f"{web}/webhook", json=body, headers=headers, timeout=60), "message")
    assert _user_turns(running_stack, worker.id) == []


def test_the_whatsapp_webhook(running_stack: RunningStack, worker: ChannelWorker) -> None:
    # Signed, as only Meta could send it: the signature is over the escape as sent.
    raw = json.dumps(wa.text(worker.phone, f"help {LONE_SURROGATE}")).encode()
    _refused(wa.post_webhook(running_stack.rasa_url, None, raw=raw), "messages[0].text.body")
    assert _user_turns(running_stack, worker.id) == []
