"""Tokens, roles and facility scoping."""

from __future__ import annotations

import pytest
import requests

from tests.support.backend import RunningBackend
from tests.support.processes import assistant_cli


def create_consult(backend: RunningBackend, worker: str, patient_ref: str) -> int:
    response = requests.post(
        f"{backend.url}/consults",
        json={"patient_ref": patient_ref, "specialty": "psychiatry", "urgency": "routine"},
        headers=backend.headers("worker", worker),
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer fa_not-a-real-token", "Basic dXNlcjpwYXNz"])
def test_missing_or_bad_token_is_401(sqlite_backend: RunningBackend, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = requests.get(f"{sqlite_backend.url}/consults", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_tokens_are_stored_hashed(sqlite_backend: RunningBackend) -> None:
    token = sqlite_backend.token("worker", "W003")
    with sqlite_backend.db.connect() as connection:
        stored = [row[0] for row in connection.exec_driver_sql("SELECT token_hash FROM api_tokens")]
    assert token not in stored and len(stored) >= 1
    assert all(len(value) == 64 for value in stored)


def test_supervisor_cannot_request_a_consult(sqlite_backend: RunningBackend) -> None:
    response = requests.post(
        f"{sqlite_backend.url}/consults",
        json={"patient_ref": "R1", "specialty": "ent"},
        headers=sqlite_backend.headers("supervisor", "S001"),
    )
    assert response.status_code == 403


def test_worker_token_cannot_act_on_behalf_of_another(sqlite_backend: RunningBackend) -> None:
    headers = {**sqlite_backend.headers("worker", "W001"), "X-On-Behalf-Of": "W002"}
    response = requests.get(f"{sqlite_backend.url}/consults", headers=headers)
    assert response.status_code == 403


def test_service_token_must_name_a_worker_to_write(sqlite_backend: RunningBackend) -> None:
    headers = {"Authorization": f"Bearer {sqlite_backend.token('service')}"}
    response = requests.post(f"{sqlite_backend.url}/encounters", json={"patient_ref": "S1"}, headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "X-On-Behalf-Of"
    unknown = requests.get(f"{sqlite_backend.url}/consults", headers={**headers, "X-On-Behalf-Of": "NOBODY"})
    assert unknown.status_code == 403 and unknown.json()["error"]["code"] == "unknown_worker"


def test_token_create_refuses_a_role_the_worker_does_not_have(sqlite_backend: RunningBackend) -> None:
    with pytest.raises(RuntimeError, match="has role worker, not supervisor"):
        assistant_cli("token", "create", "--db", sqlite_backend.db_url, "--role", "supervisor", "--worker", "W001")


def test_worker_sees_only_its_own_facility(sqlite_backend: RunningBackend) -> None:
    own = create_consult(sqlite_backend, "W001", "SCOPE-A")
    other = create_consult(sqlite_backend, "W002", "SCOPE-B")
    headers = sqlite_backend.headers("worker", "W001")
    listed = requests.get(f"{sqlite_backend.url}/consults", headers=headers).json()["items"]
    ids = {item["id"] for item in listed}
    assert own in ids and other not in ids
    assert {item["facility_id"] for item in listed} == {"hwc-ajari"}
    assert requests.get(f"{sqlite_backend.url}/consults/{other}", headers=headers).status_code == 404
    cancel = requests.post(f"{sqlite_backend.url}/consults/{other}/cancel", headers=headers)
    assert cancel.status_code == 404


def test_supervisors_see_the_facilities_under_them_and_admin_sees_all(sqlite_backend: RunningBackend) -> None:
    pindwara = create_consult(sqlite_backend, "W001", "SCOPE-C")  # hwc-ajari, under chc-pindwara
    abu_road = create_consult(sqlite_backend, "W002", "SCOPE-D")  # sc-abu-road

    def visible(role: str, worker: str | None) -> set[int]:
        response = requests.get(
            f"{sqlite_backend.url}/consults", params={"limit": 200}, headers=sqlite_backend.headers(role, worker)
        )
        return {item["id"] for item in response.json()["items"]}

    block = visible("supervisor", "S002")
    assert pindwara in block and abu_road not in block
    district = visible("supervisor", "S001")
    assert {pindwara, abu_road} <= district
    assert {pindwara, abu_road} <= visible("admin", None)
