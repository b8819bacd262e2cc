"""Every kind of bad input gets a 4xx with the JSON error shape, never a 500."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from assistant.core.vocabulary import SPECIALTIES
from tests.support.backend import RunningBackend, start_backend


def error_of(response: requests.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] and body["error"]["message"]
    return body["error"]


def post(backend: RunningBackend, path: str, **kwargs: Any) -> requests.Response:
    headers = {**backend.headers(), **kwargs.pop("headers", {})}
    return requests.post(f"{backend.url}{path}", headers=headers, **kwargs)


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2]", b"\xff\xfe", b'"just a string"'])
def test_malformed_or_non_object_json_is_400(sqlite_backend: RunningBackend, raw: bytes) -> None:
    error_of(post(sqlite_backend, "/consults", data=raw, headers={"Content-Type": "application/json"}), 400)


def test_oversized_body_is_413(sqlite_backend: RunningBackend) -> None:
    huge = b'{"patient_ref": "' + b"x" * (200 * 1024) + b'"}'
    error_of(post(sqlite_backend, "/encounters", data=huge, headers={"Content-Type": "application/json"}), 413)


def test_unknown_specialty_lists_the_valid_values(sqlite_backend: RunningBackend) -> None:
    error = error_of(post(sqlite_backend, "/consults", json={"patient_ref": "B1", "specialty": "astrology"}), 422)
    assert error["field"] == "specialty"
    assert error["allowed"] == list(SPECIALTIES)


def test_unknown_urgency_is_422(sqlite_backend: RunningBackend) -> None:
    error = error_of(
        post(sqlite_backend, "/consults", json={"patient_ref": "B1", "specialty": "ent", "urgency": "asap"}), 422
    )
    assert error["field"] == "urgency" and "emergency" in error["allowed"]


def test_unknown_procedure_lists_the_valid_values(sqlite_backend: RunningBackend) -> None:
    response = requests.get(f"{sqlite_backend.url}/checklists/juggling", headers=sqlite_backend.headers())
    error = error_of(response, 422)
    assert "hand_hygiene" in error["allowed"]


def test_unknown_language_is_422(sqlite_backend: RunningBackend) -> None:
    response = requests.get(
        f"{sqlite_backend.url}/checklists/hand_hygiene", params={"lang": "fr"}, headers=sqlite_backend.headers()
    )
    assert error_of(response, 422)["allowed"] == ["en", "hi"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"vitals": {"systolic_bp": 20, "diastolic_bp": 10}}, "vitals.systolic_bp"),
        ({"vitals": {"temperature": 60, "temperature_unit": "C"}}, "vitals.temperature"),
        ({"vitals": {"temperature": 60}}, "vitals.temperature"),
        ({"age": 150}, "age"),
        ({"age": -1}, "age"),
        ({"vitals": {"pulse": 400}}, "vitals.pulse"),
        ({"vitals": {"spo2": 101}}, "vitals.spo2"),
        ({"vitals": {"systolic_bp": 90, "diastolic_bp": 140}}, "vitals.diastolic_bp"),
        ({"vitals": {"pulse": "fast"}}, "vitals.pulse"),
        ({"vitals": {"pulse": True}}, "vitals.pulse"),
        ({"vitals": {"temperature": 101, "temperature_unit": "K"}}, "vitals.temperature_unit"),
        ({"vitals": {"blood_group": "O+"}}, "vitals"),
        ({"vitals": "120/80"}, "vitals"),
        ({"sex": "unknown"}, "sex"),
    ],
)
def test_impossible_values_name_the_field(sqlite_backend: RunningBackend, body: dict[str, Any], field: str) -> None:
    error = error_of(post(sqlite_backend, "/encounters", json={"patient_ref": "BAD-1", **body}), 422)
    assert error["field"] == field


def test_missing_patient_ref_is_422(sqlite_backend: RunningBackend) -> None:
    assert error_of(post(sqlite_backend, "/encounters", json={"age": 3}), 422)["field"] == "patient_ref"


def test_non_numeric_id_and_bad_paging_are_clear(sqlite_backend: RunningBackend) -> None:
    headers = sqlite_backend.headers()
    error_of(requests.get(f"{sqlite_backend.url}/consults/abc", headers=headers), 422)
    error_of(requests.get(f"{sqlite_backend.url}/consults", params={"limit": 0}, headers=headers), 422)
    error_of(requests.get(f"{sqlite_backend.url}/consults", params={"status": "lost"}, headers=headers), 422)
    error_of(requests.get(f"{sqlite_backend.url}/encounters/999999", headers=headers), 404)
    error_of(requests.get(f"{sqlite_backend.url}/no-such-route", headers=headers), 404)
    error_of(requests.delete(f"{sqlite_backend.url}/consults", headers=headers), 405)


def test_patient_references_never_reach_the_log(tmp_path: Path, artifacts_dir: Path) -> None:
    """What ``assistant serve backend`` writes to its log, as its own process."""
    backend = start_backend(f"sqlite:///{tmp_path / 'backend.db'}", artifacts_dir / "logs")
    secret_ref = "PRIVATE-REF-73519"
    headers = backend.headers()
    try:
        post(backend, "/encounters", json={"patient_ref": secret_ref, "age": 30, "complaint": "cough"})
        post(backend, "/encounters", json={"patient_ref": secret_ref, "age": 300})
        post(backend, "/consults", json={"patient_ref": secret_ref, "specialty": "ent"})
        requests.get(f"{backend.url}/consults", params={"patient_ref": secret_ref}, headers=headers)
        requests.get(f"{backend.url}/encounters", params={"patient_ref": secret_ref}, headers=headers)
    finally:
        backend.stop()
    assert backend.process is not None
    log = backend.process.log_text()
    assert "POST /encounters" in log  # the requests were logged...
    assert secret_ref not in log  # ...without the patient reference


# JSON's escaped half of a UTF-16 surrogate pair ("\ud800" in the body's text): json decodes it into a str no
# database, log or UTF-8 answer accepts. ``requests`` writes this str back as that escape.
LONE_SURROGATE = "\ud800"


@pytest.fixture(scope="module")
def scheduled_consult(sqlite_backend: RunningBackend) -> int:
    """W001's consult, booked on a specialist's slot: one a worker may cancel and the hub may complete."""
    response = post(sqlite_backend, "/consults", json={"patient_ref": "SURR-1", "specialty": "dermatology"})
    assert response.status_code == 201 and response.json()["status"] == "scheduled", response.text
    return int(response.json()["id"])


@pytest.mark.parametrize(
    "path, role, body, field",
    [
        ("/consults", "worker", {"patient_ref": LONE_SURROGATE, "specialty": "ent"}, "patient_ref"),
        ("/consults", "worker", {"patient_ref": "S", "specialty": "ent", "reason": f"ache {LONE_SURROGATE}"}, "reason"),
        ("/encounters", "worker", {"patient_ref": "S1", "vitals": {"pulse": 80}, "notes": LONE_SURROGATE}, "notes"),
        ("/encounters", "worker", {"patient_ref": "S1", "complaint": "cough", LONE_SURROGATE: 1}, None),
        ("/consults/{id}/cancel", "worker", {"reason": LONE_SURROGATE}, "reason"),
        ("/consults/{id}/complete", "admin", {"advice": f"rest {LONE_SURROGATE}"}, "advice"),
        ("/auth/pin", "service", {"worker_id": LONE_SURROGATE, "pin": "123456"}, "worker_id"),
    ],
)
def test_text_that_is_not_unicode_is_refused_naming_the_field(
    sqlite_backend: RunningBackend,
    scheduled_consult: int,
    path: str,
    role: str,
    body: dict[str, Any],
    field: str | None,
) -> None:
    headers = sqlite_backend.headers(role, "W001" if role == "worker" else None)
    response = post(sqlite_backend, path.format(id=scheduled_consult), json=body, headers=headers)
    error = error_of(response, 400)
    assert "not valid Unicode" in error["message"]
    assert error.get("field") == field
    consult = requests.get(f"{sqlite_backend.url}/consults/{scheduled_consult}", headers=sqlite_backend.headers())
    assert consult.json()["status"] == "scheduled"  # neither refused change was made


@pytest.mark.parametrize("header", ["Idempotency-Key", "X-On-Behalf-Of"])
def test_header_bytes_that_are_not_utf8_are_refused(sqlite_backend: RunningBackend, header: str) -> None:
    # aiohttp hands such bytes over as lone surrogates ("surrogateescape"); they never reach the database.
    headers = {**sqlite_backend.headers("service", "W001"), header: b"key-\xed\xa0\x80"}
    response = post(sqlite_backend, "/consults", json={"patient_ref": "S2", "specialty": "ent"}, headers=headers)
    assert "not valid Unicode" in error_of(response, 400)["message"]
