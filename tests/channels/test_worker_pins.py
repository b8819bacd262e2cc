"""Worker PINs and messaging identities on the real backend: issuance by CLI, sign-in, lockout, lookup."""

from __future__ import annotations

import uuid

import pytest
import requests
from sqlalchemy import text

from assistant.core.rules import MAX_FAILED_ATTEMPTS
from tests.support.backend import RunningBackend
from tests.support.processes import assistant_cli


def _new_worker(backend: RunningBackend, phone: str | None = None, role: str = "worker") -> str:
    worker_id = f"P{uuid.uuid4().hex[:8].upper()}"
    with backend.db.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO workers (id, name, facility_id, role, phone, active) VALUES (:id, 'Pin Test', "
                "'hwc-ajari', :role, :phone, 1)"
            ),
            {"id": worker_id, "role": role, "phone": phone},
        )
    return worker_id


def _login(backend: RunningBackend, worker_id: str, pin: str, role: str = "service") -> requests.Response:
    return requests.post(
        f"{backend.url}/auth/pin",
        json={"worker_id": worker_id, "pin": pin},
        headers=backend.headers(role, None if role == "service" else "W001"),
    )


def test_issued_pin_signs_in_and_is_stored_hashed(sqlite_backend: RunningBackend) -> None:
    worker_id = _new_worker(sqlite_backend)
    pin = assistant_cli("worker", "pin", worker_id, "--db", sqlite_backend.db_url).strip()
    assert pin.isdigit() and len(pin) == 6

    response = _login(sqlite_backend, worker_id.lower(), pin)
    assert response.status_code == 200, response.text
    assert response.json()["worker"]["id"] == worker_id and response.json()["worker"]["role"] == "worker"
    with sqlite_backend.db.connect() as connection:
        stored = connection.execute(
            text("SELECT pin_hash FROM worker_pins WHERE worker_id = :id"), {"id": worker_id}
        ).scalar_one()
    assert stored.startswith("scrypt$") and pin not in stored


def test_wrong_pin_and_unknown_worker_get_the_same_answer(sqlite_backend: RunningBackend) -> None:
    worker_id = _new_worker(sqlite_backend)
    assistant_cli("worker", "pin", worker_id, "--pin", "482619", "--db", sqlite_backend.db_url)
    wrong, unknown = _login(sqlite_backend, worker_id, "482610"), _login(sqlite_backend, "NOBODY", "482619")
    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.json()
        == unknown.json()
        == {"error": {"code": "invalid_credentials", "message": "Worker id or PIN is wrong."}}
    )


def test_repeated_failures_lock_the_worker_out_until_a_new_pin(sqlite_backend: RunningBackend) -> None:
    worker_id = _new_worker(sqlite_backend)
    assistant_cli("worker", "pin", worker_id, "--pin", "739184", "--db", sqlite_backend.db_url)
    statuses = [_login(sqlite_backend, worker_id, "000000").status_code for _ in range(MAX_FAILED_ATTEMPTS)]
    assert statuses == [401] * (MAX_FAILED_ATTEMPTS - 1) + [423]

    locked = _login(sqlite_backend, worker_id, "739184")  # the right PIN does not help now
    assert locked.status_code == 423
    assert locked.json()["error"]["code"] == "locked" and locked.json()["error"]["retry_after"] > 60

    assistant_cli(
        "worker", "pin", worker_id, "--pin", "739184", "--db", sqlite_backend.db_url
    )  # a supervisor resets it
    assert _login(sqlite_backend, worker_id, "739184").status_code == 200


def test_lockout_ends_after_its_time(sqlite_backend: RunningBackend) -> None:
    worker_id = _new_worker(sqlite_backend)
    assistant_cli("worker", "pin", worker_id, "--pin", "517390", "--db", sqlite_backend.db_url)
    for _ in range(MAX_FAILED_ATTEMPTS):
        _login(sqlite_backend, worker_id, "100000")
    assert _login(sqlite_backend, worker_id, "517390").status_code == 423
    with sqlite_backend.db.begin() as connection:  # the lockout's time has passed
        connection.execute(
            text("UPDATE worker_pins SET locked_until = '2000-01-01 00:00:00' WHERE worker_id = :id"), {"id": worker_id}
        )
    assert _login(sqlite_backend, worker_id, "517390").status_code == 200


def test_only_the_service_token_may_check_pins(sqlite_backend: RunningBackend) -> None:
    assert _login(sqlite_backend, "W001", "123456", role="worker").status_code == 403
    assert (
        requests.post(f"{sqlite_backend.url}/auth/pin", json={"worker_id": "W001", "pin": "123456"}).status_code == 401
    )


@pytest.mark.parametrize("pin", ["1234", "123456", "000000", "12a456", "12345"])
def test_weak_or_malformed_pins_are_refused_by_the_cli(sqlite_backend: RunningBackend, pin: str) -> None:
    with pytest.raises(RuntimeError, match="PIN"):
        assistant_cli("worker", "pin", "W002", "--pin", pin, "--db", sqlite_backend.db_url)


def _resolve(backend: RunningBackend, **identity: str) -> requests.Response:
    return requests.post(
        f"{backend.url}/workers/resolve",
        json={"channel": "whatsapp", **identity},
        headers=backend.headers("service", None),
    )


def test_a_whatsapp_number_maps_to_its_worker_and_the_user_id_is_learned(sqlite_backend: RunningBackend) -> None:
    worker_id = _new_worker(sqlite_backend)
    number = f"91{uuid.uuid4().int % 10**10:010d}"
    assistant_cli(
        "worker", "phone", worker_id, f"+{number[:2]} {number[2:7]} {number[7:]}", "--db", sqlite_backend.db_url
    )

    assert _resolve(sqlite_backend, phone=number).json()["worker"]["id"] == worker_id
    assert _resolve(sqlite_backend, phone=number, user_id=f"IN.{number}77").json()["worker"]["id"] == worker_id
    # Later Meta may send only the business-scoped user id.
    assert _resolve(sqlite_backend, user_id=f"IN.{number}77").json()["worker"]["id"] == worker_id
    assert _resolve(sqlite_backend, phone="919999999999").status_code == 404
    assert _resolve(sqlite_backend, user_id="IN.unknown").status_code == 404
    assert _resolve(sqlite_backend).status_code == 422
