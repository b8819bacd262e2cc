"""The backend's HTTP contract, against the real server on a real SQLite file."""

from __future__ import annotations

import requests

from assistant.core.vocabulary import PROCEDURES, SPECIALTIES
from tests.support.backend import RunningBackend


def test_health_needs_no_token(sqlite_backend: RunningBackend) -> None:
    response = requests.get(f"{sqlite_backend.url}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_specialties_lists_the_canonical_twelve_with_two_specialists_each(sqlite_backend: RunningBackend) -> None:
    response = requests.get(f"{sqlite_backend.url}/specialties", headers=sqlite_backend.headers())
    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["code"] for item in items] == list(SPECIALTIES)
    assert all(item["specialists"] >= 2 for item in items)
    assert all(item["name_hi"] for item in items)


def test_specialties_count_the_specialists_of_the_callers_own_hub(sqlite_backend: RunningBackend) -> None:
    # W004's hub (Udaipur) has a physician, a paediatrician and an obstetrician; no cardiologist.
    response = requests.get(f"{sqlite_backend.url}/specialties", headers=sqlite_backend.headers("worker", "W004"))
    counts = {item["code"]: item["specialists"] for item in response.json()["items"]}
    assert counts["cardiology"] == 0 and counts["general_medicine"] == 1
    assert sum(counts.values()) == 3


def test_every_canonical_checklist_cites_its_guideline(sqlite_backend: RunningBackend) -> None:
    items = requests.get(f"{sqlite_backend.url}/checklists", headers=sqlite_backend.headers()).json()["items"]
    assert sorted(item["slug"] for item in items) == sorted(PROCEDURES)
    for item in items:
        assert item["source"]["guideline"] and item["source"]["publisher"]
        assert item["steps"] >= 5


def test_checklist_in_english_and_hindi_has_the_same_numbered_steps(sqlite_backend: RunningBackend) -> None:
    url = f"{sqlite_backend.url}/checklists/hand_hygiene"
    english = requests.get(url, params={"lang": "en"}, headers=sqlite_backend.headers()).json()
    hindi = requests.get(url, params={"lang": "hi"}, headers=sqlite_backend.headers()).json()
    assert english["lang"] == "en" and hindi["lang"] == "hi"
    assert [s["number"] for s in english["steps"]] == list(range(1, len(english["steps"]) + 1))
    assert [s["caution"] for s in english["steps"]] == [s["caution"] for s in hindi["steps"]]
    assert any("\u0900" <= ch <= "\u097f" for ch in hindi["steps"][0]["text"])  # Devanagari
    assert english["steps"][0]["text"] != hindi["steps"][0]["text"]


def test_clinical_checklists_flag_at_least_one_caution_step(sqlite_backend: RunningBackend) -> None:
    for slug in ("safe_injection", "postpartum_hemorrhage", "neonatal_resuscitation"):
        steps = requests.get(f"{sqlite_backend.url}/checklists/{slug}", headers=sqlite_backend.headers()).json()[
            "steps"
        ]
        assert any(step["caution"] for step in steps), slug


def test_hololens_setup_checklist_covers_remote_assist(sqlite_backend: RunningBackend) -> None:
    body = requests.get(f"{sqlite_backend.url}/checklists/hololens_setup", headers=sqlite_backend.headers()).json()
    text = " ".join(step["text"] for step in body["steps"]).lower()
    assert "remote assist" in text and "hololens" in text


def test_encounter_round_trip_normalises_fahrenheit(sqlite_backend: RunningBackend) -> None:
    headers = sqlite_backend.headers()
    body = {
        "patient_ref": "ENC-1001",
        "age": 34,
        "sex": "Female",
        "complaint": "fever for two days",
        "vitals": {"systolic_bp": 140, "diastolic_bp": 90, "temperature": 101, "pulse": 88, "spo2": 97},
        "notes": "advised fluids",
        "channel": "voice",
        "conversation_id": "W002",  # another worker's conversation: not the caller's to claim
    }
    created = requests.post(f"{sqlite_backend.url}/encounters", json=body, headers=headers)
    assert created.status_code == 201, created.text
    encounter = created.json()
    assert encounter["sex"] == "female"
    assert encounter["vitals"]["temperature_c"] == 38.3
    assert encounter["vitals"]["systolic_bp"] == 140 and encounter["vitals"]["spo2"] == 97
    assert encounter["worker_id"] == "W001" and encounter["facility_id"] == "hwc-ajari"
    # Channel and conversation come from the caller: a worker's own token is the API, in their conversation.
    assert (encounter["channel"], encounter["conversation_id"]) == ("api", "W001")
    fetched = requests.get(f"{sqlite_backend.url}/encounters/{encounter['id']}", headers=headers).json()
    assert fetched == encounter
    listed = requests.get(
        f"{sqlite_backend.url}/encounters", params={"patient_ref": "ENC-1001"}, headers=headers
    ).json()
    assert [item["id"] for item in listed["items"]] == [encounter["id"]]


def test_explicit_celsius_is_kept(sqlite_backend: RunningBackend) -> None:
    body = {"patient_ref": "ENC-1002", "vitals": {"temperature": 37.2, "temperature_unit": "C"}}
    created = requests.post(f"{sqlite_backend.url}/encounters", json=body, headers=sqlite_backend.headers())
    assert created.status_code == 201
    assert created.json()["vitals"]["temperature_c"] == 37.2


def test_service_token_acts_for_the_named_worker(sqlite_backend: RunningBackend) -> None:
    headers = sqlite_backend.headers("service", "W002")
    created = requests.post(
        f"{sqlite_backend.url}/consults",
        json={"patient_ref": "SVC-1", "specialty": "dermatology", "urgency": "routine"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["requested_by"] == "W002"
    assert created.json()["facility_id"] == "sc-abu-road"
