"""Random requests for every route of the backend's ``/openapi.json`` (hypothesis strategies).

Shared by the bounded fuzz test (``tests/backend/test_fuzz.py``) and the long
run in ``bench/fuzz.py``. A request is built from the spec, then bent: values
of the wrong type, huge and negative numbers (``10**400``), unicode and
control characters (NUL), missing and extra fields, deep nesting, bodies
that are not JSON, and every kind of credential (none, garbage, each role,
a service token acting for someone random).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests
from hypothesis import strategies as st

# Text a client can really send (no lone surrogates), with control characters in it.
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)
ASCII_TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=126), max_size=40)
BIG = st.sampled_from([10**400, -(10**400), 2**63, 2**31, -1, 0, 9223372036854775808])
NUMBERS = st.one_of(st.integers(), BIG, st.floats(allow_nan=True, allow_infinity=True))
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=12,
)
PATH_VALUES = st.one_of(
    st.integers(1, 40),
    st.integers(),
    BIG,
    st.sampled_from(["hand_hygiene", "W001"]),
    TEXT.map(lambda text: quote(text, safe="")),
)
# Every vital, each a plausible value.
EVERY_VITAL: dict[str, Any] = {
    "systolic_bp": 120,
    "diastolic_bp": 80,
    "temperature": 98.6,
    "temperature_unit": "F",
    "pulse": 80,
    "spo2": 97,
    "weight_kg": 60,
    "respiratory_rate": 16,
}
# A request body each route accepts: the fuzz bends one or two of its fields at a time, so the
# bent value gets past the others to the code that reads it (an age of 10**400 behind a good
# patient_ref). Routes not listed get bodies shaped by their schema.
VALID_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/consults"): {"patient_ref": "FZ-1", "specialty": "cardiology", "urgency": "routine", "reason": "fuzz"},
    ("POST", "/consults/{id}/cancel"): {"reason": "fuzz"},
    ("POST", "/encounters"): {
        "patient_ref": "FZ-2",
        "age": 30,
        "sex": "female",
        "complaint": "fever",
        "notes": "fuzz",
        "vitals": EVERY_VITAL,
    },
    ("POST", "/auth/pin"): {"worker_id": "W001", "pin": "123456"},
    ("POST", "/workers/resolve"): {"channel": "whatsapp", "phone": "+919800000001"},
}


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    data: bytes | None = None

    def send(self, base_url: str) -> requests.Response | None:
        """The answer, or None when no HTTP client would send this (a header it refuses)."""
        try:
            return requests.request(
                self.method, base_url + self.path, params=self.params, headers=self.headers, data=self.data, timeout=30
            )
        except (requests.exceptions.InvalidHeader, ValueError, UnicodeError):
            return None


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


# The values that broke things somewhere: too big for a float or a 64-bit column, NUL,
# the wrong type, nothing at all, too long, not a number.
NASTY_VALUES: tuple[Any, ...] = (
    10**400,
    -(10**400),
    2**63,
    2**31,
    -1,
    "x\x00y",
    [],
    {},
    None,
    "",
    "a" * 5000,
    float("nan"),
    True,
)


def _leaves(body: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for key, value in body.items():
        found.append((*prefix, key))
        if isinstance(value, dict):
            found += _leaves(value, (*prefix, key))
    return found


def swept_requests(spec: dict[str, Any], credentials: dict[str, str]) -> list[Request]:
    """Every field of every valid body, and every path and query parameter, set to each nasty value in turn."""
    found = []
    for method, route, op in operations(spec):
        valid = VALID_BODIES.get((method, route))
        concrete = re.sub(r"{\w+}", "1", route)
        headers = {**credentials, "Content-Type": "application/json"}
        if valid is not None:
            for leaf in _leaves(valid):
                for value in NASTY_VALUES:
                    body = json.loads(json.dumps(valid))
                    target = body
                    for key in leaf[:-1]:
                        target = target[key]
                    target[leaf[-1]] = value
                    found.append(Request(method, concrete, {}, headers, json.dumps(body, allow_nan=True).encode()))
        data = json.dumps(valid).encode() if valid is not None else (b"{}" if method == "POST" else None)
        for value in NASTY_VALUES:
            text = json.dumps(value, allow_nan=True) if not isinstance(value, str) else value
            for name in re.findall(r"{(\w+)}", route):
                found.append(Request(method, route.replace("{" + name + "}", quote(text, safe="")), {}, headers, data))
            for parameter in op.get("parameters", []):
                if parameter["in"] == "query":
                    found.append(Request(method, concrete, {parameter["name"]: text}, headers, data))
    return found


def _schema_value(schema: dict[str, Any], draw: Any) -> Any:
    """A value shaped like ``schema`` most of the time, and anything at all otherwise."""
    if draw(st.integers(0, 3)) == 0 or not isinstance(schema, dict):
        return draw(JSON_VALUES)
    kind = schema.get("type")
    if "enum" in schema:
        return draw(st.one_of(st.sampled_from(schema["enum"]), TEXT))
    if kind == "integer":
        return draw(NUMBERS)
    if kind == "number":
        return draw(NUMBERS)
    if kind == "boolean":
        return draw(st.booleans())
    if kind == "object":
        return {
            name: _schema_value(inner, draw)
            for name, inner in (schema.get("properties") or {}).items()
            if draw(st.booleans())
        }
    if kind == "array":
        return draw(st.lists(JSON_VALUES, max_size=3))
    return draw(TEXT)


def _bent(valid: dict[str, Any], draw: Any) -> dict[str, Any]:
    """``valid`` with one or two fields (at any depth) replaced, removed, or joined by another."""
    body = json.loads(json.dumps(valid))
    for _ in range(draw(st.integers(1, 2))):
        target = body
        while target and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(target)))
            if not isinstance(target[key], dict):
                break
            target = target[key]
        if not target:
            target[draw(TEXT)] = draw(JSON_VALUES)
            continue
        key = draw(st.sampled_from(sorted(target)))
        change = draw(st.integers(0, 9))
        if change == 0:
            del target[key]
        elif change == 1:
            target[draw(TEXT)] = draw(JSON_VALUES)
        elif change <= 5:  # the values that broke things: huge numbers, NUL, wrong types
            target[key] = draw(st.one_of(BIG, st.just("x\x00y"), st.just([]), st.just({})))
        else:
            target[key] = draw(JSON_VALUES)
    return body


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema


BENDS = ("nothing", "path", "query", "headers", "credentials", "body")
VALID_QUERY: dict[str, Any] = {
    "limit": st.integers(1, 200),
    "offset": st.integers(0, 50),
    "lang": st.sampled_from(["en", "hi"]),
    "status": st.sampled_from(["requested", "scheduled", "cancelled", "completed"]),
    "requested_by": st.sampled_from(["W001", "W002"]),
    "worker": st.sampled_from(["W001", "W002"]),
    "patient_ref": st.sampled_from(["FZ-1", "4521"]),
}


@st.composite
def requests_for(draw: Any, spec: dict[str, Any], credentials: list[dict[str, str]]) -> Request:
    """One request to one of the spec's operations, valid but for one bent part (sometimes none).

    ``credentials[0]`` is no credential at all; the others are real ones.
    """
    method, route, op = draw(st.sampled_from(operations(spec)))
    # A body is where most input is: POSTs have it bent half the time.
    bend = "body" if method == "POST" and draw(st.booleans()) else draw(st.sampled_from(BENDS))
    path = route
    for name in re.findall(r"{(\w+)}", route):
        value = draw(PATH_VALUES) if bend == "path" else draw(st.sampled_from(["hand_hygiene", "W001", "1", "2", "3"]))
        path = path.replace("{" + name + "}", str(value))
    params: dict[str, str] = {}
    for parameter in op.get("parameters", []):
        if parameter["in"] == "query" and draw(st.booleans()):
            name = parameter["name"]
            valid = VALID_QUERY.get(name, st.just("x"))
            params[name] = str(draw(st.one_of(NUMBERS, TEXT) if bend == "query" else valid))
    if bend == "query" and draw(st.booleans()):
        params[draw(ASCII_TEXT.filter(bool))] = draw(TEXT)
    headers = dict(draw(st.sampled_from(credentials if bend == "credentials" else credentials[1:])))
    if bend == "credentials" and draw(st.booleans()):
        headers["Authorization"] = draw(st.sampled_from(["Bearer ", "Basic x", "bearer fa_"])) + draw(ASCII_TEXT)
    if bend == "headers":
        for header in ("Idempotency-Key", "X-On-Behalf-Of"):
            if draw(st.booleans()):
                headers[header] = draw(ASCII_TEXT)
    elif method == "POST" and draw(st.booleans()):
        headers["Idempotency-Key"] = f"fuzz-{draw(st.integers(0, 20))}"
    data = None
    if method == "POST":
        body_schema = (op.get("requestBody") or {}).get("content", {}).get("application/json", {}).get("schema", {})
        valid = VALID_BODIES.get((method, route))
        if bend != "body":
            body = valid if valid is not None else _schema_value(_resolve(body_schema, spec), draw)
            data = json.dumps(body).encode()
        else:
            shape = draw(st.integers(0, 9))
            if shape == 0:
                data = draw(st.binary(max_size=60))
            elif shape == 1:
                data = ("[" * draw(st.integers(500, 5000))).encode()  # nested too deep to parse
            elif shape == 2:
                data = json.dumps(draw(JSON_VALUES)).encode()
            elif valid is not None:
                data = json.dumps(_bent(valid, draw), allow_nan=True).encode()
            else:
                data = json.dumps(_schema_value(_resolve(body_schema, spec), draw), allow_nan=True).encode()
        headers["Content-Type"] = "application/json"
    return Request(method, path, params, headers, data)


def fuzz_credentials(backend: Any) -> list[dict[str, str]]:
    """None at all, then each role's real token (a ``RunningBackend``'s)."""
    return [
        {},
        backend.headers("worker", "W001"),
        backend.headers("service", "W002"),
        backend.headers("supervisor", "S001"),
        backend.headers("admin", "A001"),
    ]


def problem_with(request: Request, response: requests.Response) -> str | None:
    """What is wrong with the backend's answer, if anything: a 5xx, or a refusal without the error shape."""
    if response.status_code >= 500:
        return f"{request.method} {request.path}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 400 and response.headers.get("Content-Type", "").startswith("application/json"):
        error = response.json().get("error") or {}
        if not (error.get("code") and error.get("message")):  # always the one error shape, with a reason
            return f"{request.method} {request.path}: {response.status_code} without a reason: {response.text[:200]}"
    elif response.status_code >= 400 and response.status_code != 400:
        # Only aiohttp's HTTP parser answers in plain text: a header no HTTP/1.1 field may hold
        # (RFC 9110: no control characters) is refused before any handler sees the request.
        return f"{request.method} {request.path}: {response.status_code} in plain text: {response.text[:200]}"
    return None


def fuzz(backend: Any, examples: int) -> tuple[dict[int, int], list[str]]:
    """``examples`` random requests to every route of ``backend``'s spec: (count per status, problems)."""
    from hypothesis import HealthCheck, Phase, given, settings

    spec = requests.get(f"{backend.url}/openapi.json", timeout=30).json()
    seen: dict[int, int] = {}
    problems: list[str] = []

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],  # every example counted: no shrinking, no replay of earlier runs
        database=None,
    )
    @given(request=requests_for(spec, fuzz_credentials(backend)))
    def send(request: Request) -> None:
        response = request.send(backend.url)
        if response is None:
            return  # no HTTP client sends that header
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        problem = problem_with(request, response)
        if problem:
            problems.append(problem)

    send()
    return seen, problems
