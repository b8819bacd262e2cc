"""Property-based fuzz of every route in the backend's ``/openapi.json``: no input ever gets a 500.

Runs against the real backend on SQLite and on PostgreSQL (which refuses NUL
in text and overflows on 64-bit ids, where SQLite shrugs). Bounded here;
``python -m bench fuzz`` sends 10,000 requests the same way.
"""

from __future__ import annotations

import os

import pytest
import requests

from tests.support.backend import RunningBackend
from tests.support.fuzz import fuzz, swept_requests

EXAMPLES = int(os.environ.get("ASSISTANT_FUZZ_EXAMPLES", "400"))


@pytest.mark.slow
def test_no_request_gets_a_server_error(any_backend: RunningBackend) -> None:
    seen, problems = fuzz(any_backend, EXAMPLES)
    assert problems == []
    assert sum(seen.values()) >= EXAMPLES // 2 and any(code < 300 for code in seen), seen


def open_consult(backend: RunningBackend) -> int:
    body = {"patient_ref": "FZ-3", "specialty": "dermatology", "urgency": "routine"}
    created = requests.post(f"{backend.url}/consults", json=body, headers=backend.headers("worker", "W001"), timeout=30)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


@pytest.mark.slow  # every field of every route, each with every nasty value
def test_each_field_and_parameter_survives_each_nasty_value(any_backend: RunningBackend) -> None:
    """The systematic half: 10**400, NUL, wrong types... in every field of every route, one at a time."""
    spec = requests.get(f"{any_backend.url}/openapi.json", timeout=30).json()
    failures = []
    for credential in (any_backend.headers("worker", "W001"), any_backend.headers("service", "W001")):
        for request in swept_requests(spec, credential):
            if request.path == "/consults/1/cancel":  # each one cancels an open consult, or the rest get 409
                request.path = f"/consults/{open_consult(any_backend)}/cancel"
            response = request.send(any_backend.url)
            if response is not None and response.status_code >= 500:
                failures.append(f"{request.method} {request.path} {request.params} {request.data!r:.120}")
    assert failures == []
