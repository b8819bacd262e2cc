"""The FHIR export's structure and codes, and the OpenAPI description against the real routes."""

from __future__ import annotations

import re
from typing import Any

import requests

from assistant.backend.app import create_app
from assistant.backend.availability import HOURS_REQUEST, SINGLE_SLOT_REQUEST
from assistant.backend.openapi import PATHS, REQUEST_BODIES, openapi_document
from assistant.backend.openapi_availability import AVAILABILITY_PATHS
from assistant.core.spoken_times import parse_iso
from assistant.db.engine import Database
from tests.backend.test_hub_api import waiting_consult
from tests.support.backend import RunningBackend


def test_fhir_bundle_holds_the_encounter_and_one_observation_per_vital(sqlite_backend: RunningBackend) -> None:
    headers = sqlite_backend.headers()
    body = {
        "patient_ref": "FHIR-77",
        "age": 52,
        "sex": "male",
        "complaint": "headache",
        "vitals": {"systolic_bp": 150, "diastolic_bp": 95, "temperature": 98.6, "pulse": 72, "spo2": 96},
    }
    encounter = requests.post(f"{sqlite_backend.url}/encounters", json=body, headers=headers).json()
    response = requests.get(f"{sqlite_backend.url}/encounters/{encounter['id']}/fhir", headers=headers)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    bundle = response.json()
    assert bundle["resourceType"] == "Bundle"
    resources = [entry["resource"] for entry in bundle["entry"]]
    assert all(entry["fullUrl"].startswith("urn:uuid:") for entry in bundle["entry"])

    encounters = [r for r in resources if r["resourceType"] == "Encounter"]
    assert len(encounters) == 1
    assert encounters[0]["subject"]["identifier"]["value"] == "FHIR-77"
    assert encounters[0]["status"] == "finished"

    observations = {r["code"]["coding"][0]["code"]: r for r in resources if r["resourceType"] == "Observation"}
    assert set(observations) == {"85354-9", "8310-5", "8867-4", "59408-5"}
    encounter_url = bundle["entry"][0]["fullUrl"]
    for observation in observations.values():
        assert observation["code"]["coding"][0]["system"] == "http://loinc.org"
        assert observation["category"][0]["coding"][0]["code"] == "vital-signs"
        assert observation["subject"]["identifier"]["value"] == "FHIR-77"
        assert observation["encounter"]["reference"] == encounter_url

    components = {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in observations["85354-9"]["component"]}
    assert components["8480-6"]["value"] == 150 and components["8462-4"]["value"] == 95
    assert components["8480-6"]["code"] == "mm[Hg]"
    assert observations["8310-5"]["valueQuantity"] == {
        "value": 37.0,
        "unit": "°C",
        "system": "http://unitsofmeasure.org",
        "code": "Cel",
    }
    assert observations["8867-4"]["valueQuantity"]["value"] == 72
    assert observations["59408-5"]["valueQuantity"]["value"] == 96


def test_fhir_bundle_without_vitals_has_only_the_encounter(sqlite_backend: RunningBackend) -> None:
    headers = sqlite_backend.headers()
    encounter = requests.post(
        f"{sqlite_backend.url}/encounters", json={"patient_ref": "FHIR-0"}, headers=headers
    ).json()
    bundle = requests.get(f"{sqlite_backend.url}/encounters/{encounter['id']}/fhir", headers=headers).json()
    assert [entry["resource"]["resourceType"] for entry in bundle["entry"]] == ["Encounter"]


def _consult_resources(backend: RunningBackend, consult_id: int) -> dict[str, dict[str, Any]]:
    response = requests.get(f"{backend.url}/consults/{consult_id}/fhir", headers=backend.headers())
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    bundle = response.json()
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "collection")
    return {entry["resource"]["resourceType"]: entry["resource"] for entry in bundle["entry"]}


def test_a_waiting_consult_is_an_active_service_request_without_an_appointment(
    sqlite_backend: RunningBackend,
) -> None:
    consult_id = waiting_consult(sqlite_backend, "FHIR-C1", specialty="neurology", urgency="urgent")
    resources = _consult_resources(sqlite_backend, consult_id)
    assert list(resources) == ["ServiceRequest"]
    request = resources["ServiceRequest"]
    assert (request["status"], request["intent"], request["priority"]) == ("active", "order", "urgent")
    assert request["subject"]["identifier"] == {"system": "urn:field-assistant:patient-ref", "value": "FHIR-C1"}
    assert request["identifier"] == [{"system": "urn:field-assistant:consult", "value": str(consult_id)}]
    assert "note" not in request


def test_an_emergency_is_a_stat_request_with_a_booked_call_of_its_own(sqlite_backend: RunningBackend) -> None:
    body = {"patient_ref": "FHIR-C2", "specialty": "cardiology", "urgency": "emergency", "reason": "chest pain"}
    consult = requests.post(f"{sqlite_backend.url}/consults", json=body, headers=sqlite_backend.headers()).json()
    resources = _consult_resources(sqlite_backend, consult["id"])
    assert (resources["ServiceRequest"]["priority"], resources["ServiceRequest"]["status"]) == ("stat", "active")
    assert resources["ServiceRequest"]["reasonCode"] == [{"text": "chest pain"}]
    appointment = resources["Appointment"]
    assert appointment["status"] == "booked"
    start, end = parse_iso(appointment["start"]), parse_iso(appointment["end"])
    assert start == parse_iso(consult["scheduled_for"]) and end > start  # no slot, yet a call has an end
    assert appointment["participant"][0]["actor"]["display"] == consult["specialist"]["name"]
    assert appointment["participant"][0]["actor"]["identifier"]["value"] == consult["specialist"]["upn"]


def test_no_operation_is_described_twice() -> None:
    """The availability routes' description is merged into ours operation by operation: none may be lost."""
    ours = {(method, path) for path, operations in PATHS.items() for method in operations}
    theirs = {(method, path) for path, operations in AVAILABILITY_PATHS.items() for method in operations}
    assert ours & theirs == set()


def _route_set(app_routes: list[tuple[str, str]]) -> set[tuple[str, str]]:
    return {(method.lower(), path) for method, path in app_routes if method not in ("HEAD", "OPTIONS")}


def test_openapi_describes_exactly_the_routes_the_app_serves(sqlite_backend: RunningBackend) -> None:
    served = requests.get(f"{sqlite_backend.url}/openapi.json").json()
    app = create_app(Database.connect("sqlite://"), close_db=True)
    routes = _route_set([(route.method, route.resource.canonical) for route in app.router.routes() if route.resource])
    described = {(method, path) for path, operations in served["paths"].items() for method in operations}
    assert described == routes
    # Every $ref resolves.
    schemas = served["components"]["schemas"]
    for ref in re.findall(
        r'"\$ref": "#/components/schemas/(\w+)"', requests.get(f"{sqlite_backend.url}/openapi.json").text
    ):
        assert ref in schemas


def test_every_request_body_is_described_by_the_declaration_that_checks_it() -> None:
    """No request schema is written by hand: each is a declaration's (assistant.backend.fields), or reads nothing."""
    document = openapi_document()
    declared = {body.title: body for body in (*REQUEST_BODIES, HOURS_REQUEST, SINGLE_SLOT_REQUEST)}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "requestBody" not in operation:
                continue
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            if "$ref" not in schema:
                assert schema == {"type": "object"}, (method, path)  # a body nothing is read from (a no-show)
                continue
            name = schema["$ref"].rsplit("/", 1)[1]
            assert name in declared, (method, path, name)
            assert document["components"]["schemas"][name] == declared[name].schema()
