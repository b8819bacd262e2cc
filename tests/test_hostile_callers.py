"""An attacker on the clinic LAN against ``assistant up``, from outside, on real ports.

The stack runs as a clinic runs it for phones (``ASSISTANT_HOST=0.0.0.0``).
Each test tries one attack of issue 12 and checks that it is refused and
that the backend's records are unchanged by it. The credentials used are
the ones an outside check would use: worker tokens from ``assistant token
create``, PINs from ``assistant worker pin``, the console's demo password.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import re
import signal
import sqlite3
import stat
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from assistant.console.demo import DEMO_SUPERVISOR
from tests.support.console import ConsoleClient
from tests.support.logs import logs_mentioning
from tests.support.processes import assistant_cli, launch_up, up_env, wait_for_line
from tests.support.sockets import descendants, lan_address, listening
from tests.support.stack import MODEL_CACHE, trained_model

pytestmark = pytest.mark.stack

RECORD_TABLES = ("consults", "encounters")
HOLDS_SECRETS = ("service_token", "rasa_token", "action_secret", "web_session_secret")


@dataclass
class Up:
    """``assistant up`` in LAN mode, and what an outside check can reach of it."""

    process: subprocess.Popen[bytes]
    env: dict[str, str]
    ports: dict[str, int]
    data_dir: Path

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def cli(self, *args: str) -> str:
        return assistant_cli(*args, env=self.env).strip()

    def secret(self, name: str) -> str:
        return (self.data_dir / "secrets" / name).read_text().strip()

    def records(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every consult and encounter, as stored."""
        with sqlite3.connect(f"file:{self.data_dir / 'backend.db'}?mode=ro", uri=True) as connection:
            return {
                table: connection.execute(f"SELECT * FROM {table} ORDER BY id").fetchall() for table in RECORD_TABLES
            }

    def new_worker(self, role: str = "worker", facility: str = "hwc-ajari") -> str:
        worker_id = f"H{uuid.uuid4().hex[:8].upper()}"
        self.cli("worker", "add", worker_id, "--name", "Hostile Test", "--facility", facility, "--role", role)
        return worker_id

    def worker_token(self, worker_id: str) -> str:
        return self.cli("token", "create", "--role", "worker", "--worker", worker_id)

    def say(self, token: str | None, body: dict[str, Any]) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.post(f"{self.url('RASA')}/webhooks/rest/webhook", json=body, headers=headers, timeout=60)

    def backend(self, method: str, path: str, token: str, **options: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", **options.pop("headers", {})}
        return requests.request(method, self.url("BACKEND") + path, headers=headers, timeout=30, **options)


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    trained_model()
    root = tmp_path_factory.mktemp("hostile")
    # ASSISTANT_HOST=0.0.0.0: the phones' web chat on the clinic LAN.
    env, ports = up_env(root / "data", MODEL_CACHE, ASSISTANT_HOST="0.0.0.0")
    process = launch_up(env, root / "up.log")
    try:
        wait_for_line(root / "up.log", "Press Ctrl-C to stop", process, timeout=300)
    except AssertionError:
        process.kill()
        raise
    yield Up(process, env, ports, root / "data")
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)


# --- what listens, and where ------------------------------------------------------------------


def test_only_the_configured_ports_listen_and_only_rasa_beyond_loopback(up: Up) -> None:
    sockets = listening(descendants(up.process.pid))
    assert sockets == {
        ("0.0.0.0", up.ports["RASA"]),  # web chat and webhooks, for the phones
        ("127.0.0.1", up.ports["BACKEND"]),
        ("127.0.0.1", up.ports["ACTIONS"]),
        ("127.0.0.1", up.ports["CONSOLE"]),
    }


LAN_REFUSED = [
    ("POST", "/webhooks/rest/webhook"),  # the REST channel: for this machine's headset loop
    ("GET", "/"),
    ("GET", "/status"),
    ("POST", "/model/parse"),
    ("GET", "/conversations/W001/tracker"),
    ("POST", "/webhooks/web/../rest/webhook"),  # no way round by dot segments or encoding
    ("POST", "/webhooks/web/%2e%2e/rest/webhook"),
    ("POST", "/webhooks/rest%2Fwebhook"),
    ("GET", "/webhooksX/web/"),
]


def _raw_request(host: str, port: int, method: str, path: str) -> tuple[int, bytes]:
    """One request with the path sent exactly as written (no client-side normalising)."""
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request(method, path, body=b"{}", headers={"Content-Type": "application/json"})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def test_from_the_lan_rasa_answers_only_on_the_phones_routes(up: Up) -> None:
    address = lan_address()
    if address is None:
        pytest.skip("this machine has no address off loopback")
    assert _raw_request(address, up.ports["RASA"], "GET", "/webhooks/web/")[0] == 200  # the phones' web chat
    for method, path in LAN_REFUSED:
        status, body = _raw_request(address, up.ports["RASA"], method, path)
        assert status == 404, (method, path, status, body[:200])
    # The same routes still serve this machine.
    assert _raw_request("127.0.0.1", up.ports["RASA"], "GET", "/")[0] == 200
    assert _raw_request("127.0.0.1", up.ports["RASA"], "POST", "/webhooks/rest/webhook")[0] == 400  # no message


def test_no_secret_is_on_any_command_line_and_the_data_is_private(up: Up) -> None:
    secrets = [up.secret(name) for name in HOLDS_SECRETS]
    for pid in descendants(up.process.pid):
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        assert not any(secret in argv for secret in secrets), argv.replace("\0", " ")
    assert stat.S_IMODE(up.data_dir.stat().st_mode) == 0o700
    loose = [
        str(path)
        for path in up.data_dir.rglob("*")
        if stat.S_IMODE(path.lstat().st_mode) & 0o077 and not path.is_symlink()
    ]
    assert loose == []


# --- the action server ------------------------------------------------------------------------


def _forged_call(worker: str) -> dict[str, Any]:
    """What Rasa would send to book a consult for ``worker``, filled in by an attacker."""
    slots = {
        "patient_id": "661100",
        "specialty": "cardiology",
        "urgency": "urgent",
        "reason": "forged",
        "confirmed": True,
    }
    return {
        "next_action": "action_book_consult",
        "sender_id": worker,
        "version": "3.6.2",
        "domain": {},
        "tracker": {
            "sender_id": worker,
            "slots": slots,
            "latest_message": {"text": "yes", "intent": {"name": "affirm"}, "entities": []},
            "events": [],
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


@pytest.mark.parametrize(
    "how",
    [
        {},  # no secret
        {"X-Action-Secret": "guessed-" + "x" * 32},
        {"X-Action-Secret": ""},
    ],
    ids=["no secret", "wrong secret", "empty secret"],
)
def test_a_forged_action_server_call_is_refused(up: Up, how: dict[str, str]) -> None:
    before = up.records()
    for sender in ("W001", "S001", "A001"):
        response = requests.post(f"{up.url('ACTIONS')}/webhook", json=_forged_call(sender), headers=how, timeout=30)
        assert response.status_code == 401, response.text
        assert "tracker" not in response.text and "661100" not in response.text
    assert requests.get(f"{up.url('ACTIONS')}/actions", headers=how, timeout=30).status_code == 401
    assert up.records() == before


def test_a_web_page_cannot_reach_the_action_server_even_with_the_secret(up: Up) -> None:
    """A "simple" cross-site request is text/plain; the action server takes JSON only (and sends no CORS)."""
    before = up.records()
    response = requests.post(
        f"{up.url('ACTIONS')}/webhook",
        data=json.dumps(_forged_call("W001")),
        headers={"X-Action-Secret": up.secret("action_secret"), "Content-Type": "text/plain", "Origin": "http://evil"},
        timeout=30,
    )
    assert response.status_code == 415
    assert "Access-Control-Allow-Origin" not in response.headers
    assert up.records() == before


# --- the REST channel ---------------------------------------------------------------------------


def test_the_rest_channel_needs_the_workers_own_token(up: Up) -> None:
    mine, theirs = up.new_worker(), up.new_worker()
    token = up.worker_token(mine)
    before = up.records()

    refused = {
        "no token": up.say(None, {"sender": theirs, "message": "consult status"}),
        "a made-up token": up.say("fa_" + "A" * 43, {"sender": theirs, "message": "consult status"}),
        "someone else's sender": up.say(token, {"sender": theirs, "message": "consult status"}),
        "a supervisor's token": up.say(
            up.cli("token", "create", "--role", "supervisor", "--worker", "S001"),
            {"sender": "S001", "message": "consult status"},
        ),
    }
    assert {name: response.status_code for name, response in refused.items()} == {
        "no token": 401,
        "a made-up token": 401,
        "someone else's sender": 403,
        "a supervisor's token": 403,
    }
    for response in refused.values():
        assert response.json()["error"]["message"]  # a clear answer, not an empty reply

    # The token's own worker talks, with or without naming themselves.
    for body in ({"message": "hello"}, {"sender": mine, "message": "hello"}):
        replies = up.say(token, body).json()
        assert replies and {reply["recipient_id"] for reply in replies} == {mine}
    assert up.records() == before


def test_a_deactivated_worker_is_refused_on_every_channel_within_30_seconds(up: Up) -> None:
    worker = up.new_worker()
    token = up.worker_token(worker)
    pin = up.cli("worker", "pin", worker)
    web = f"{up.url('RASA')}/webhooks/web"
    session = requests.post(f"{web}/login", json={"worker_id": worker, "pin": pin}, timeout=30).json()["token"]

    def web_turn(text: str) -> requests.Response:
        return requests.post(
            f"{web}/webhook",
            json={"message": text, "message_id": uuid.uuid4().hex},
            headers={"Authorization": f"Bearer {session}"},
            timeout=60,
        )

    assert up.say(token, {"message": "hello"}).status_code == 200
    assert web_turn("hello").status_code == 200

    up.cli("worker", "deactivate", worker)
    deactivated = time.monotonic()
    rest = web_answer = None
    while time.monotonic() - deactivated < 35:
        rest, web_answer = up.say(token, {"message": "consult status"}), web_turn("consult status")
        if rest.status_code == 403 and web_answer.status_code == 403:
            break
        time.sleep(1)
    assert rest is not None and web_answer is not None
    assert (rest.status_code, rest.json()["error"]["code"]) == (403, "inactive_worker")
    assert (web_answer.status_code, web_answer.json()["error"]["code"]) == (403, "inactive_worker")
    assert time.monotonic() - deactivated <= 31
    with pytest.raises(RuntimeError, match="deactivated"):
        up.worker_token(worker)  # no new token either

    up.cli("worker", "activate", worker)
    assert "worker" in up.cli("worker", "list")
    deadline = time.monotonic() + 35
    while up.say(token, {"message": "hello"}).status_code != 200 and time.monotonic() < deadline:
        time.sleep(1)
    assert up.say(token, {"message": "hello"}).status_code == 200


def test_a_revoked_token_is_refused(up: Up) -> None:
    worker = up.new_worker()
    token = up.worker_token(worker)
    assert up.say(token, {"message": "hello"}).status_code == 200
    assert "revoked 1 token" in up.cli("token", "revoke", "--token", token)
    deadline = time.monotonic() + 35
    while up.say(token, {"message": "hello"}).status_code != 401 and time.monotonic() < deadline:
        time.sleep(1)
    assert up.say(token, {"message": "hello"}).status_code == 401


# --- the backend API ------------------------------------------------------------------------------

CONSULT = {"patient_ref": "HC-5501", "specialty": "cardiology", "urgency": "routine", "reason": "chest pain"}


def test_an_idempotency_key_replayed_by_another_worker_gets_nothing_of_the_first(up: Up) -> None:
    first, second = up.new_worker(), up.new_worker()
    key = {"Idempotency-Key": f"replayed-{uuid.uuid4().hex}"}
    made = up.backend("POST", "/consults", up.worker_token(first), json=CONSULT, headers=key)
    assert made.status_code == 201
    before = up.records()

    by_token = up.backend("POST", "/consults", up.worker_token(second), json=CONSULT, headers=key)
    acting = up.backend(
        "POST", "/consults", up.secret("service_token"), json=CONSULT, headers={**key, "X-On-Behalf-Of": second}
    )
    assert by_token.status_code == 201, by_token.text
    assert by_token.headers.get("Idempotent-Replayed") != "true"
    assert by_token.json()["requested_by"] == second and by_token.json()["id"] != made.json()["id"]
    # The same worker retrying through the service token is the same request: a replay of their own.
    assert acting.status_code == 201 and acting.headers.get("Idempotent-Replayed") == "true"
    assert acting.json()["id"] == by_token.json()["id"]
    after = up.records()
    assert [row for row in after["consults"] if row in before["consults"]] == before["consults"]  # W1's untouched


def test_a_worker_sees_and_cancels_only_their_own_consults(up: Up) -> None:
    owner, colleague = up.new_worker(), up.new_worker()  # the same facility
    made = up.backend(
        "POST", "/consults", up.worker_token(owner), json=CONSULT, headers={"Idempotency-Key": uuid.uuid4().hex}
    ).json()
    before = up.records()
    theirs = up.worker_token(colleague)
    assert up.backend("GET", f"/consults/{made['id']}", theirs).status_code == 404
    listed = up.backend("GET", "/consults", theirs).json()
    assert made["id"] not in [item["id"] for item in listed["items"]]
    cancel = up.backend(
        "POST", f"/consults/{made['id']}/cancel", theirs, json={}, headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert cancel.status_code == 404
    assert up.records() == before


def test_records_belong_to_the_caller_whatever_the_body_says(up: Up) -> None:
    worker, victim = up.new_worker(), up.new_worker()
    planted = {**CONSULT, "conversation_id": victim, "channel": "whatsapp"}
    made = up.backend(
        "POST", "/consults", up.worker_token(worker), json=planted, headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert made.status_code == 201
    with sqlite3.connect(f"file:{up.data_dir / 'backend.db'}?mode=ro", uri=True) as connection:
        stored = connection.execute(
            "SELECT requested_by, conversation_id, channel FROM consults WHERE id = ?", (made.json()["id"],)
        ).fetchone()
    assert stored == (worker, worker, "api")


HUGE = 10**400


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/encounters", {"patient_ref": "HE-1", "age": HUGE, "sex": "female", "complaint": "fever"}),
        (
            "POST",
            "/encounters",
            {"patient_ref": "HE-2", "age": 30, "sex": "female", "complaint": "fever", "vitals": {"pulse": HUGE}},
        ),
        ("POST", "/consults", {**CONSULT, "reason": "chest\u0000pain"}),
        ("POST", "/consults", {**CONSULT, "patient_ref": "HC\u0000-1"}),
        ("GET", "/consults/9223372036854775808", None),
        ("GET", f"/encounters/{HUGE}/fhir", None),
        ("GET", "/consults?limit=99999999999999999999999", None),
        ("POST", "/consults/9223372036854775808/cancel", {}),
    ],
    ids=[
        "huge age",
        "huge pulse",
        "NUL in reason",
        "NUL in patient",
        "huge id",
        "huge fhir id",
        "huge limit",
        "cancel",
    ],
)
def test_huge_integers_and_nul_bytes_get_a_clear_refusal(
    up: Up, method: str, path: str, body: dict[str, Any] | None
) -> None:
    token = up.worker_token(up.new_worker())
    before = up.records()
    data = json.dumps(body) if body is not None else None  # json= would refuse 10**400
    answer = up.backend(
        method,
        path,
        token,
        data=data,
        headers={"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex},
    )
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["error"]["message"]
    assert up.records() == before


def test_the_rest_channel_refuses_nul_bytes(up: Up) -> None:
    token = up.worker_token(up.new_worker())
    answer = up.say(token, {"message": "patient 4411\u0000 consult"})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "bad_request"


# --- the console ------------------------------------------------------------------------------------

OFF_SITE = ["/\t/evil.example", "//evil.example", "/\\evil.example", "https://evil.example/", "/\n/evil.example"]


@pytest.mark.parametrize("target", OFF_SITE, ids=["tab", "double slash", "backslash", "absolute", "newline"])
def test_the_console_never_redirects_off_site(up: Up, target: str) -> None:
    signing_in = ConsoleClient(up.url("CONSOLE"))
    signing_in.get("/login")
    answer = signing_in.post(
        "/login", {"username": DEMO_SUPERVISOR, "password": up.secret("console_demo_password"), "next": target}
    )
    assert (answer.status_code, answer.headers["Location"]) == (303, "/conversations")
    again = signing_in.get("/login", params={"next": target})  # signed in: /login sends them on
    assert (again.status_code, again.headers["Location"]) == (303, "/conversations")


# --- logs ----------------------------------------------------------------------------------------------

PATIENTS = ("739104", "739105")


def test_no_log_holds_a_patient_id_or_a_forged_line(up: Up) -> None:
    token = up.worker_token(worker := up.new_worker())
    say = [
        f"urgent cardiology consult for patient {PATIENTS[0]}, chest pain since morning",
        "yes",
        f"log a new encounter for patient {PATIENTS[1]}",
    ]
    for text in say:
        assert up.say(token, {"message": text}).status_code == 200
    assert any(row for row in up.records()["consults"] if PATIENTS[0] in map(str, row))
    # Log injection: a path and a worker id with a newline in them.
    requests.get(f"{up.url('BACKEND')}/consults/1%0a2026-12-01%20INFO%20forged", timeout=30)
    up.say("fa_" + "B" * 43, {"sender": "W001\nINFO forged", "message": "hi"})
    time.sleep(1)  # let the services write their logs out

    log_dir = up.data_dir / "logs"
    assert {path.name for path in log_dir.glob("*.log")} >= {"backend.log", "actions.log", "rasa.log", "console.log"}
    assert logs_mentioning(log_dir, PATIENTS) == []
    for path in log_dir.glob("*.log"):
        forged = re.search(r"^\S*\s*INFO forged", path.read_text(errors="replace"), re.MULTILINE)
        assert forged is None, f"{path.name} has a forged line"
    assert worker  # the conversation was this worker's


# --- limits (last: they lock this address out of sign-in for 15 minutes) -------------------------------


def test_100_parallel_pin_guesses_get_no_more_answers_than_the_limit(up: Up) -> None:
    worker = up.new_worker()
    pin = up.cli("worker", "pin", worker)
    wrong = [f"{(int(pin) + n) % 1_000_000:06d}" for n in range(1, 101)]
    login = f"{up.url('RASA')}/webhooks/web/login"

    def guess(candidate: str) -> requests.Response:
        return requests.post(login, json={"worker_id": worker, "pin": candidate}, timeout=120)

    with concurrent.futures.ThreadPoolExecutor(max_workers=100) as pool:
        answers = list(pool.map(guess, wrong))
    codes = [answer.json()["error"]["code"] for answer in answers]
    evaluated = codes.count("invalid_credentials")
    assert 1 <= evaluated <= 5, codes
    assert set(codes) <= {"invalid_credentials", "locked", "too_many_attempts"}
    assert guess(pin).status_code in (423, 429)  # locked out, even with the right PIN


def test_100_parallel_console_password_guesses_get_no_more_answers_than_the_limit(up: Up) -> None:
    def guess(number: int) -> int:
        client = ConsoleClient(up.url("CONSOLE"))
        client.get("/login")
        return client.post("/login", {"username": "S001", "password": f"wrong-password-{number}"}).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(guess, range(100)))
    assert 1 <= statuses.count(401) <= 5, statuses
    assert set(statuses) <= {401, 429}
