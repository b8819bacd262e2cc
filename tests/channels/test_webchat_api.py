"""The web chat's HTTP side on the running stack: who may speak, as whom, and how often."""

from __future__ import annotations

import datetime as dt
import gzip
import re
import uuid

import jwt
import pytest
import requests

from assistant.core.rules import MAX_FAILED_ATTEMPTS
from assistant.core.secrets import read_secret
from tests.channels.conftest import ChannelWorker
from tests.support.processes import assistant_cli
from tests.support.stack import RunningStack

pytestmark = pytest.mark.stack


def _web(stack: RunningStack) -> str:
    return f"{stack.rasa_url}/webhooks/web"


def _sign_in(stack: RunningStack, worker: ChannelWorker) -> str:
    response = requests.post(f"{_web(stack)}/login", json={"worker_id": worker.id, "pin": worker.pin}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["token"]


def _say(
    stack: RunningStack, token: str, message: str, message_id: str | None = None, **extra: str
) -> requests.Response:
    body = {"message": message, "message_id": message_id or uuid.uuid4().hex, **extra}
    return requests.post(f"{_web(stack)}/webhook", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=120)


def _user_turns(stack: RunningStack, worker_id: str) -> list[dict]:
    return [event for event in stack.tracker(worker_id)["events"] if event["event"] == "user"]


def test_the_page_is_small_self_contained_and_compressed(running_stack: RunningStack) -> None:
    page = requests.get(f"{_web(running_stack)}/", headers={"Accept-Encoding": "gzip"}, stream=True, timeout=30)
    raw_page = page.raw.read()
    script_url = re.search(r'src="(app\.js\?v=\w+)"', gzip.decompress(raw_page).decode()).group(1)
    script = requests.get(
        f"{_web(running_stack)}/{script_url}", headers={"Accept-Encoding": "gzip"}, stream=True, timeout=30
    )
    raw_script = script.raw.read()
    assert page.headers["Content-Encoding"] == script.headers["Content-Encoding"] == "gzip"
    assert len(raw_page) + len(raw_script) < 10_000  # bytes on the wire for the whole app
    assert "immutable" in script.headers["Cache-Control"]
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    for source in (gzip.decompress(raw_page).decode(), gzip.decompress(raw_script).decode()):
        assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", source)  # nothing from elsewhere
        assert "@import" not in source and "url(http" not in source


def test_the_sender_is_the_tokens_worker_whatever_the_page_says(
    running_stack: RunningStack, worker: ChannelWorker
) -> None:
    other = running_stack.new_worker()
    token = _sign_in(running_stack, worker)
    response = _say(running_stack, token, "help", sender=other, recipient_id=other)
    assert response.status_code == 200 and response.json()["messages"]
    turns = _user_turns(running_stack, worker.id)
    assert [turn["text"] for turn in turns] == ["help"] and turns[0]["metadata"]["channel"] == "web"
    assert _user_turns(running_stack, other) == []


@pytest.mark.parametrize("forgery", ["none", "garbage", "other-key", "expired", "alg-none"])
def test_without_a_valid_session_nothing_is_said(
    running_stack: RunningStack, worker: ChannelWorker, forgery: str
) -> None:
    secret = read_secret(running_stack.settings, "web_session_secret")
    now = dt.datetime.now(dt.timezone.utc)
    claims = {
        "iss": "field-assistant",
        "aud": "web-chat",
        "sub": worker.id,
        "sid": "x",
        "iat": now,
        "exp": now + dt.timedelta(hours=1),
    }
    tokens = {
        "none": "",
        "garbage": "abc.def.ghi",
        "other-key": jwt.encode(claims, "an attacker's key of sufficient length!!", algorithm="HS256"),
        "expired": jwt.encode(
            {**claims, "iat": now - dt.timedelta(hours=2), "exp": now - dt.timedelta(minutes=1)},
            secret,
            algorithm="HS256",
        ),
        "alg-none": jwt.encode(claims, None, algorithm="none"),
    }
    response = _say(running_stack, tokens[forgery], "help")
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
    assert _user_turns(running_stack, worker.id) == []


def test_a_resent_message_gets_the_first_answer_and_is_processed_once(
    running_stack: RunningStack, worker: ChannelWorker
) -> None:
    token = _sign_in(running_stack, worker)
    first = _say(running_stack, token, "help", message_id="resend-test-0001")
    again = _say(running_stack, token, "help", message_id="resend-test-0001")
    assert first.status_code == again.status_code == 200
    assert again.json()["messages"] == first.json()["messages"] and again.json()["replayed"] is True
    assert len(_user_turns(running_stack, worker.id)) == 1


def test_logout_ends_the_session_on_the_server(running_stack: RunningStack, worker: ChannelWorker) -> None:
    token = _sign_in(running_stack, worker)
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{_web(running_stack)}/history", headers=headers, timeout=30).status_code == 200
    assert requests.post(f"{_web(running_stack)}/logout", headers=headers, timeout=30).status_code == 200
    assert requests.get(f"{_web(running_stack)}/history", headers=headers, timeout=30).status_code == 401
    assert _say(running_stack, token, "help").status_code == 401


def test_bad_requests_get_clear_answers(running_stack: RunningStack, worker: ChannelWorker) -> None:
    token = _sign_in(running_stack, worker)
    headers = {"Authorization": f"Bearer {token}"}
    for body in (
        b"not json",
        b"[]",
        b'{"message": "help"}',
        b'{"message": "", "message_id": "abcdefgh12"}',
        b'{"message": "help", "message_id": "../../x"}',
    ):
        response = requests.post(f"{_web(running_stack)}/webhook", data=body, headers=headers, timeout=30)
        assert response.status_code == 400 and response.json()["error"]["message"]
    missing = requests.post(f"{_web(running_stack)}/login", json={"worker_id": worker.id}, timeout=30)
    assert missing.status_code == 400 and "pin" in missing.json()["error"]["message"]


def test_sign_in_refusals_say_why(running_stack: RunningStack, worker: ChannelWorker) -> None:
    def login(worker_id: str, pin: str) -> requests.Response:
        return requests.post(f"{_web(running_stack)}/login", json={"worker_id": worker_id, "pin": pin}, timeout=30)

    supervisor = running_stack.new_worker(facility="chc-pindwara", role="supervisor")
    assistant_cli("worker", "pin", supervisor, "--pin", "395721", "--db", running_stack.backend_db_url)
    refused = login(supervisor, "395721")
    assert refused.status_code == 403 and "field health workers" in refused.json()["error"]["message"]

    answers = [login(worker.id, "1111") for _ in range(MAX_FAILED_ATTEMPTS)]
    assert [answer.status_code for answer in answers] == [401] * (MAX_FAILED_ATTEMPTS - 1) + [423]
    locked = login(worker.id, worker.pin)
    assert locked.status_code == 423 and "Too many wrong PINs" in locked.json()["error"]["message"]
