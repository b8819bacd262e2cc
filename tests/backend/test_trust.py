"""Who a caller is, for how long, and what they may touch: the backend's side of issue 12.

Every test runs on SQLite and on PostgreSQL (``any_backend``): limits and
scopes must hold on both, under parallel requests.
"""

from __future__ import annotations

import concurrent.futures
import uuid

import pytest
import requests
from sqlalchemy import text

from assistant.domain.api_tokens import hash_token
from tests.support.backend import RunningBackend
from tests.support.processes import assistant_cli

CONSULT = {"patient_ref": "TR-1", "specialty": "cardiology", "urgency": "routine", "reason": "trust"}


def _cli(backend: RunningBackend, *args: str) -> str:
    return assistant_cli(*args, "--db", backend.db_url).strip()


def _new_worker(backend: RunningBackend, facility: str = "hwc-ajari") -> str:
    worker = f"T{uuid.uuid4().hex[:8].upper()}"
    assert f"added worker {worker}" in _cli(backend, "worker", "add", worker, "--name", "Trust", "--facility", facility)
    return worker


def _worker_token(backend: RunningBackend, worker: str) -> str:
    return _cli(backend, "token", "create", "--role", "worker", "--worker", worker)


def _bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def _me(backend: RunningBackend, token: str) -> requests.Response:
    return requests.get(f"{backend.url}/me", headers=_bearer(token), timeout=30)


def test_a_token_expires_and_can_be_revoked(any_backend: RunningBackend) -> None:
    worker = _new_worker(any_backend)
    short = _cli(any_backend, "token", "create", "--role", "worker", "--worker", worker, "--days", "1")
    with any_backend.db.begin() as connection:  # two days later
        connection.execute(
            text("UPDATE api_tokens SET expires_at = '2000-01-01 00:00:00' WHERE token_hash = :h"),
            {"h": hash_token(short)},
        )
    assert _me(any_backend, short).status_code == 401

    lasting = _worker_token(any_backend, worker)
    listed = [line for line in _cli(any_backend, "token", "list").splitlines() if worker in line]
    assert len(listed) == 2 and all("expires" in line for line in listed)
    assert not any(token in line for line in listed for token in (short, lasting))  # never the values
    assert _cli(any_backend, "token", "revoke", "--worker", worker) == "revoked 2 tokens"
    assert _me(any_backend, lasting).status_code == 401


def test_a_deactivated_worker_is_refused_with_a_clear_code(any_backend: RunningBackend) -> None:
    worker = _new_worker(any_backend)
    token = _worker_token(any_backend, worker)
    assert _me(any_backend, token).status_code == 200
    assert "deactivated" in _cli(any_backend, "worker", "deactivate", worker)
    listed = [line for line in _cli(any_backend, "worker", "list").splitlines() if line.startswith(worker)]
    assert listed and listed[0].rstrip().endswith("deactivated")
    with pytest.raises(RuntimeError, match="deactivated"):
        _worker_token(any_backend, worker)
    _cli(any_backend, "worker", "activate", worker)


def test_worker_add_refuses_what_is_wrong(any_backend: RunningBackend) -> None:
    worker = _new_worker(any_backend)
    for args, problem in [
        (["worker", "add", worker, "--name", "Again", "--facility", "hwc-ajari"], "already registered"),
        (["worker", "add", "W 9", "--name", "Space", "--facility", "hwc-ajari"], "worker id"),
        (["worker", "add", "TX1", "--name", "Nowhere", "--facility", "no-such-place"], "no facility"),
        (["worker", "add", "TX2", "--name", "bell\u0007", "--facility", "hwc-ajari"], "name"),
    ]:
        with pytest.raises(RuntimeError, match=problem):
            _cli(any_backend, *args)


def test_100_parallel_pin_guesses_get_at_most_five_answers(any_backend: RunningBackend) -> None:
    worker = _new_worker(any_backend)
    pin = _cli(any_backend, "worker", "pin", worker)
    service = _bearer(any_backend.token("service"))

    def guess(number: int) -> str:
        wrong = f"{(int(pin) + number) % 1_000_000:06d}"
        answer = requests.post(
            f"{any_backend.url}/auth/pin", json={"worker_id": worker, "pin": wrong}, headers=service, timeout=120
        )
        return str(answer.json()["error"]["code"])

    with concurrent.futures.ThreadPoolExecutor(max_workers=100) as pool:
        codes = list(pool.map(guess, range(1, 101)))
    assert codes.count("invalid_credentials") == 5, codes
    assert set(codes) == {"invalid_credentials", "locked"}


def test_the_idempotency_scope_is_the_acting_worker(any_backend: RunningBackend) -> None:
    first, second = _new_worker(any_backend), _new_worker(any_backend)
    key = {"Idempotency-Key": f"shared-{uuid.uuid4().hex}"}
    service = any_backend.token("service")
    made = requests.post(
        f"{any_backend.url}/consults", json=CONSULT, headers=_bearer(service, **key, **{"X-On-Behalf-Of": first})
    ).json()
    other = requests.post(
        f"{any_backend.url}/consults", json=CONSULT, headers=_bearer(service, **key, **{"X-On-Behalf-Of": second})
    )
    assert other.status_code == 201 and other.headers.get("Idempotent-Replayed") != "true"
    assert other.json()["requested_by"] == second and other.json()["id"] != made["id"]
    retried = requests.post(
        f"{any_backend.url}/consults", json=CONSULT, headers=_bearer(service, **key, **{"X-On-Behalf-Of": first})
    )
    assert retried.headers.get("Idempotent-Replayed") == "true" and retried.json()["id"] == made["id"]


def test_workers_see_and_cancel_only_their_own_and_supervisors_their_facilities(any_backend: RunningBackend) -> None:
    owner, colleague = _new_worker(any_backend, "sc-abu-road"), _new_worker(any_backend, "sc-abu-road")
    tokens = {who: _worker_token(any_backend, who) for who in (owner, colleague)}
    made = requests.post(
        f"{any_backend.url}/consults",
        json=CONSULT,
        headers=_bearer(tokens[owner], **{"Idempotency-Key": uuid.uuid4().hex}),
    ).json()
    path = f"{any_backend.url}/consults/{made['id']}"

    def cancel(token: str) -> int:
        headers = _bearer(token, **{"Idempotency-Key": uuid.uuid4().hex})
        return requests.post(f"{path}/cancel", json={}, headers=headers).status_code

    elsewhere = any_backend.token("supervisor", "S002")  # CHC Pindwara: Abu Road is not under it
    assert requests.get(path, headers=_bearer(tokens[colleague])).status_code == 404
    assert requests.get(path, headers=_bearer(elsewhere)).status_code == 404
    assert (cancel(tokens[colleague]), cancel(elsewhere)) == (404, 404)
    assert requests.get(path, headers=_bearer(tokens[owner])).json()["status"] != "cancelled"
    assert cancel(any_backend.token("supervisor", "S001")) == 200  # the district's supervisor may


def test_conversation_and_channel_come_from_the_caller(any_backend: RunningBackend) -> None:
    worker, victim = _new_worker(any_backend), _new_worker(any_backend)
    token = _worker_token(any_backend, worker)
    planted = {**CONSULT, "conversation_id": victim, "channel": "whatsapp"}
    made = requests.post(
        f"{any_backend.url}/consults", json=planted, headers=_bearer(token, **{"Idempotency-Key": uuid.uuid4().hex})
    ).json()
    assert (made["conversation_id"], made["channel"]) == (worker, "api")
    service = any_backend.token("service")  # the action server knows the channel that heard the worker
    relayed = requests.post(
        f"{any_backend.url}/consults",
        json=planted,
        headers=_bearer(service, **{"Idempotency-Key": uuid.uuid4().hex, "X-On-Behalf-Of": worker}),
    ).json()
    assert (relayed["conversation_id"], relayed["channel"]) == (worker, "whatsapp")
