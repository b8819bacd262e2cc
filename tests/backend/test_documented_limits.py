"""Every bound ``/openapi.json`` documents is the one the backend enforces, sent to the real app.

The document is read as served by the real backend app (in-process, on a
seeded SQLite database). For every operation, every request body property
(nested ones too) and every query, path and header parameter, each
``maxLength``, ``maximum``, ``minimum``, ``enum`` and required field is sent:

- just past the bound (one character more, one more or less, a value not
  listed, the field left out) in an otherwise valid request, which must be a
  422 in the one error shape naming that field (an empty path segment: 404;
  a missing required body: 400);
- at the bound (exactly ``maxLength`` characters, the minimum, the maximum,
  each listed value), which must not be refused for that field.

So a declaration whose check and description disagree, either way, fails
here. Every documented bound is counted and must have been exercised: an
operation without a valid baseline request below is a failure, not a skip.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import itertools
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from assistant.backend import seed
from assistant.backend.app import create_app
from assistant.backend.workers import issue_pin
from assistant.db.engine import Database
from assistant.db.models import Availability, Consult, Encounter, HubNotice, Slot, Specialist, Task, utcnow
from assistant.domain.api_tokens import create_token
from tests.support.fuzz import EVERY_VITAL

TIMEZONE = "Asia/Kolkata"
PIN = "482915"
# Who calls: the demo's people (assistant.backend.seed), and the stack's service token.
PEOPLE = {"W001": "worker", "W002": "worker", "H001": "coordinator", "H101": "specialist"}
SPECIALTY = "dermatology"
# Not in any enum the API documents.
UNLISTED = "zz-not-listed"
_unique = itertools.count(1)


# --- The documented bounds ------------------------------------------------------------------


@dataclass(frozen=True)
class Bound:
    """One documented bound: where it is (``body``, ``query``, ``path``, ``header``), the field's trail
    (``("vitals", "pulse")`` in a body, the name of a parameter), the keyword and its value."""

    method: str
    route: str
    where: str
    trail: tuple[str, ...]
    keyword: str  # maxLength, maximum, minimum, enum, required (or "body": the body itself is required)
    value: Any
    schema: dict[str, Any] = field(compare=False, hash=False)

    @property
    def name(self) -> str:
        """The field's name as the backend's ``error.field`` gives it (``vitals.pulse``, ``follow_ups[0].task``)."""
        return ".".join(self.trail).replace(f".{FIRST}", FIRST)

    def __str__(self) -> str:
        return f"{self.method} {self.route} {self.where} {self.name or '(body)'} {self.keyword}={self.value!r}"


# The trail's step into a list's first item.
FIRST = "[0]"


def step_into(value: Any, key: str) -> Any:
    if key == FIRST:
        return value[0] if isinstance(value, list) and value else None
    return value.get(key) if isinstance(value, dict) else None


def resolve(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


def bounds_of_schema(
    schema: dict[str, Any], doc: dict[str, Any], at: Callable[..., Bound], trail: tuple[str, ...]
) -> Iterator[Bound]:
    schema = resolve(schema, doc)
    for keyword in ("maxLength", "maximum", "minimum", "enum"):
        if keyword in schema:
            yield at(trail=trail, keyword=keyword, value=schema[keyword], schema=schema)
    for alternative in schema.get("oneOf", []):
        yield from bounds_of_schema(alternative, doc, at, trail)
    if "items" in schema:
        # A list of objects (a body's ``follow_ups``) is bent in its first object; a list of values as a whole.
        listed = "properties" in resolve(schema["items"], doc)
        yield from bounds_of_schema(schema["items"], doc, at, (*trail, FIRST) if listed else trail)
    for name, inner in schema.get("properties", {}).items():
        yield from bounds_of_schema(inner, doc, at, (*trail, name))
    for name in schema.get("required", []):
        yield at(trail=(*trail, name), keyword="required", value=True, schema=schema["properties"][name])


def documented_bounds(doc: dict[str, Any]) -> list[Bound]:
    found: list[Bound] = []
    for route, operations in doc["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                at = functools.partial(Bound, method.upper(), route, parameter["in"])
                trail, schema = (parameter["name"],), parameter["schema"]
                found += bounds_of_schema(schema, doc, at, trail)
                if parameter.get("required"):
                    found.append(at(trail=trail, keyword="required", value=True, schema=schema))
            body = operation.get("requestBody")
            if body:
                at = functools.partial(Bound, method.upper(), route, "body")
                schema = body["content"]["application/json"]["schema"]
                found += bounds_of_schema(schema, doc, at, ())
                if body.get("required"):
                    found.append(at(trail=(), keyword="body", value=True, schema=schema))
    return found


# --- The app, its people and fresh records ----------------------------------------------------


@dataclass
class Call:
    """One request: ``who`` is a key of ``Backend.tokens``."""

    method: str
    path: str
    who: str
    body: dict[str, Any] | None = None
    query: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Backend:
    client: TestClient
    db: Database
    tokens: dict[str, str]

    async def send(self, call: Call) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.tokens[call.who]}", **call.headers}
        data = None if call.body is None else json.dumps(call.body)
        if data is not None:
            headers["Content-Type"] = "application/json"
        query = [(name, str(value)) for name, value in call.query.items()]
        response = await self.client.request(call.method, call.path, params=query, data=data, headers=headers)
        text = await response.text()
        return response.status, json.loads(text) if text and response.content_type.endswith("json") else text

    async def add(self, record: Any) -> Any:
        async with self.db.write() as session:
            session.add(record)
            await session.flush()
            return record.id

    async def specialist(self) -> int:
        number = next(_unique)
        return int(
            await self.add(
                Specialist(
                    name=f"Dr. Limit {number}",
                    specialty=SPECIALTY,
                    facility_id="dh-sirohi",
                    upn=f"limit-{number}@hub.example",
                )
            )
        )

    async def free_slot(self) -> int:
        """A free slot of a new specialist of ``SPECIALTY``, three weeks on (past every generated one)."""
        start = (utcnow() + dt.timedelta(days=21)).replace(second=0, microsecond=0)
        slot = Slot(specialist_id=await self.specialist(), starts_at=start, ends_at=start + dt.timedelta(minutes=10))
        return int(await self.add(slot))

    async def scheduled_consult(self) -> int:
        return await self.consult("scheduled")

    async def consult(self, status: str = "requested") -> int:
        """A consult W001 asked for, waiting at the hub (or scheduled on a slot of its own)."""
        consult = Consult(
            patient_ref=f"LIM-{next(_unique)}",
            specialty=SPECIALTY,
            urgency="routine",
            status=status,
            requested_by="W001",
            facility_id="hwc-ajari",
            hub_id="aiims-jodhpur",  # the hub serving hwc-ajari, as the booking sets it
            channel="api",
        )
        if status == "scheduled":
            async with self.db.read() as session:
                slot = await session.get(Slot, await self.free_slot())
                consult.slot_id, consult.specialist_id, consult.scheduled_for = (
                    slot.id,
                    slot.specialist_id,
                    slot.starts_at,
                )
        return int(await self.add(consult))

    async def encounter(self) -> int:
        return int(await self.add(Encounter(patient_ref="LIM-E", worker_id="W001", facility_id="hwc-ajari")))

    async def task(self) -> int:
        task = Task(
            what="recheck BP",
            patient_ref="LIM-T",
            due_on=dt.date.today(),
            worker_id="W001",
            facility_id="hwc-ajari",
            state="open",
            channel="api",
            created_by="W001",
            reminded_count=0,
        )
        return int(await self.add(task))

    async def notice(self) -> int:
        notice = HubNotice(
            consult_id=await self.consult(),
            worker_id="W001",
            event="scheduled",
            channel="web",
            text_en="-",
            text_hi="-",
        )
        return int(await self.add(notice))

    async def hours(self) -> int:
        window = Availability(
            specialist_id=await self.specialist(), weekday=2, start_time="09:00", end_time="10:00", slot_minutes=30
        )
        return int(await self.add(window))


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[Backend]:
    db = Database.connect(f"sqlite:///{tmp_path / 'backend.db'}")
    await seed.seed(db, TIMEZONE)
    async with db.write() as session:
        tokens = {person: await create_token(session, role, person) for person, role in PEOPLE.items()}
        tokens["service"] = await create_token(session, "service")
        await issue_pin(session, "W002", PIN)
    client = TestClient(TestServer(create_app(db, close_db=False, timezone=TIMEZONE, housekeeping=False)))
    await client.start_server()
    yield Backend(client, db, tokens)
    await client.close()
    await db.dispose()


# --- A valid request for each operation ------------------------------------------------------


def in_a_day() -> str:
    return (utcnow() + dt.timedelta(days=1)).isoformat(timespec="minutes")


ENCOUNTER = {
    "patient_ref": "LIM-2",
    "age": 30,
    "sex": "female",
    "complaint": "fever",
    "notes": "limits",
    "channel": "api",
    "conversation_id": "W001",
    # Systolic well above every diastolic: the diastolic's maximum is then refused for nothing.
    "vitals": {**EVERY_VITAL, "systolic_bp": 200},
}
CONSULT = {
    "patient_ref": "LIM-1",
    "specialty": SPECIALTY,
    "urgency": "routine",
    "reason": "limits",
    "channel": "api",
    "conversation_id": "W001",
}

Baseline = Callable[[Backend, Bound | None], Awaitable[Call]]


async def _consults_list(backend: Backend, bound: Bound | None) -> Call:
    # specialist= is a day list (no paging, no status): a specialist's own, or one the desk names.
    day_list = bound is not None and bound.name in ("specialist", "date")
    return Call("GET", "/consults", "H101" if day_list else "H001")


async def _new_specialist_slot(backend: Backend, bound: Bound | None) -> Call:
    start = (utcnow() + dt.timedelta(days=3)).replace(second=0, microsecond=0).isoformat()
    return Call("POST", "/slots", "H001", {"specialist_id": await backend.specialist(), "start": start, "minutes": 30})


async def _new_hours(backend: Backend, bound: Bound | None) -> Call:
    body = {"specialist_id": await backend.specialist(), "weekday": 1, "start": "10:00", "end": "12:00"}
    return Call("POST", "/availability", "H001", {**body, "slot_minutes": 30})


async def _assign(backend: Backend, bound: Bound | None) -> Call:
    body = {"slot_id": await backend.free_slot()}
    return Call("POST", f"/consults/{await backend.consult()}/assign", "H001", body)


async def _reschedule(backend: Backend, bound: Bound | None) -> Call:
    body = {"slot_id": await backend.free_slot()}
    return Call("POST", f"/consults/{await backend.scheduled_consult()}/reschedule", "H001", body)


Operation = tuple[str, str]


def fixed(
    method: str, route: str, who: str, body: dict[str, Any] | None = None, *, path: str | None = None
) -> tuple[Operation, Baseline]:
    """The same request every time, on ``path`` (by default the route itself)."""

    async def baseline(backend: Backend, bound: Bound | None) -> Call:
        return Call(method, path or route, who, copy.deepcopy(body))

    return (method, route), baseline


def on(
    method: str, route: str, who: str, make: Callable[[Backend], Awaitable[int]], body: dict[str, Any] | None = None
) -> tuple[Operation, Baseline]:
    """A request on a fresh record, made by ``make``: its id is the path's ``{id}``."""

    async def baseline(backend: Backend, bound: Bound | None) -> Call:
        return Call(method, route.replace("{id}", str(await make(backend))), who, copy.deepcopy(body))

    return (method, route), baseline


SCHEDULED, REQUESTED = Backend.scheduled_consult, Backend.consult
BASELINES: dict[Operation, Baseline] = dict(
    [
        fixed("POST", "/consults", "W001", CONSULT),
        (("GET", "/consults"), _consults_list),
        on("GET", "/consults/{id}", "W001", REQUESTED),
        on("GET", "/consults/{id}/fhir", "W001", REQUESTED),
        on("POST", "/consults/{id}/cancel", "W001", REQUESTED, {"reason": "gone"}),
        fixed("POST", "/encounters", "W001", ENCOUNTER),
        fixed("GET", "/encounters", "W001"),
        on("GET", "/encounters/{id}", "W001", Backend.encounter),
        on("GET", "/encounters/{id}/fhir", "W001", Backend.encounter),
        fixed("GET", "/checklists/{slug}", "W001", path="/checklists/hand_hygiene"),
        fixed("POST", "/auth/pin", "service", {"worker_id": "W002", "pin": PIN}),
        fixed("POST", "/workers/resolve", "service", {"channel": "whatsapp", "phone": "+919800000001"}),
        fixed("GET", "/workers/{id}", "service", path="/workers/W001"),
        fixed("GET", "/hub/queue", "H001"),
        fixed("GET", "/slots", "H001"),
        (("POST", "/slots"), _new_specialist_slot),
        on("DELETE", "/slots/{id}", "H001", Backend.free_slot),
        fixed("GET", "/availability", "H001"),
        (("POST", "/availability"), _new_hours),
        on("DELETE", "/availability/{id}", "H001", Backend.hours),
        (("POST", "/consults/{id}/assign"), _assign),
        (("POST", "/consults/{id}/reschedule"), _reschedule),
        on("POST", "/consults/{id}/refer", "H001", REQUESTED, {"hub_id": "rnt-udaipur", "reason": "no cardiologist"}),
        on(
            "POST",
            "/consults/{id}/complete",
            "H001",
            SCHEDULED,
            {"advice": "rest", "follow_up": "in a week", "follow_ups": [{"task": "recheck BP", "in_days": 2}]},
        ),
        on("POST", "/consults/{id}/no_show", "H001", SCHEDULED, {}),
        fixed("GET", "/notices", "service"),
        on("POST", "/notices/{id}/delivered", "service", Backend.notice, {"via": "web"}),
        fixed("GET", "/tasks", "W001"),
        fixed("POST", "/tasks", "W001", {"task": "postnatal visit", "patient_ref": "LIM-T", "in_days": 1}),
        on("GET", "/tasks/{id}", "W001", Backend.task),
        on("GET", "/tasks/{id}/fhir", "W001", Backend.task),
        on("POST", "/tasks/{id}/done", "W001", Backend.task, {}),
        on("POST", "/tasks/{id}/cancel", "W001", Backend.task, {}),
    ]
)


# --- Past the bound, and at it ----------------------------------------------------------------


def text_of(length: int, schema: dict[str, Any], valid: Any) -> str:
    """Text of exactly ``length`` characters, valid but for its length: a time padded with spaces (a time is
    measured before it is trimmed), anything else a unique number padded with x (no two requests collide)."""
    if schema.get("format") == "date-time":
        return str(valid if isinstance(valid, str) else in_a_day()).ljust(length)
    return f"{next(_unique)}-".ljust(length, "x")[:length]


def step(schema: dict[str, Any]) -> float:
    """One past a bound: a whole one for integers, a hundredth for any number."""
    return 1 if schema.get("type") == "integer" else 0.01


def current(call: Call, bound: Bound) -> Any:
    """The baseline's own value of the bound's field (None when it has none)."""
    if bound.where == "body":
        value: Any = call.body
        for key in bound.trail:
            value = step_into(value, key)
        return value
    return {"query": call.query, "header": call.headers}.get(bound.where, {}).get(bound.name)


LEFT_OUT = object()


def bent(call: Call, bound: Bound, value: Any) -> Call:
    """The call with the bound's field set to ``value``, or left out (``LEFT_OUT``)."""
    call = replace(call, body=copy.deepcopy(call.body), query=dict(call.query), headers=dict(call.headers))
    if bound.keyword == "body":
        call.body = None
    elif bound.where == "body":
        assert call.body is not None, f"{bound}: the valid request has no body"
        target = call.body
        for key in bound.trail[:-1]:
            target = step_into(target, key) if key == FIRST else target.setdefault(key, {})
        target.pop(bound.trail[-1], None)
        if value is not LEFT_OUT:
            target[bound.trail[-1]] = value
    elif bound.where in ("query", "header"):
        values = call.query if bound.where == "query" else call.headers
        values.pop(bound.name, None)
        if value is not LEFT_OUT:
            values[bound.name] = value
    else:  # the path: the valid request's segment (a fresh record's id, a slug) replaced, or emptied
        segments = call.path.split("/")
        segments[bound.route.split("/").index("{" + bound.name + "}")] = "" if value is LEFT_OUT else str(value)
        call.path = "/".join(segments)
    return call


def past(bound: Bound, valid: Any) -> Any:
    """The value just past the bound."""
    if bound.keyword in ("required", "body"):
        return LEFT_OUT
    if bound.keyword == "maxLength":
        return text_of(bound.value + 1, bound.schema, valid)
    if bound.keyword == "maximum":
        return bound.value + step(bound.schema)
    if bound.keyword == "minimum":
        return bound.value - step(bound.schema)
    assert bound.keyword == "enum" and UNLISTED not in bound.value
    return UNLISTED


def at(bound: Bound, valid: Any) -> list[Any]:
    """The values at the bound (none for a required field: the valid request has it)."""
    if bound.keyword in ("required", "body"):
        return []
    if bound.keyword == "maxLength":
        return [text_of(bound.value, bound.schema, valid)]
    return list(bound.value) if bound.keyword == "enum" else [bound.value]


def error_of(answer: Any) -> dict[str, Any]:
    """The one error shape: ``{"error": {"code", "message", ...}}``."""
    assert isinstance(answer, dict) and set(answer) == {"error"}, answer
    error = answer["error"]
    assert error.get("code") and error.get("message"), answer
    return error


def refusal_problem(bound: Bound, status: int, answer: Any) -> str | None:
    """What is wrong with the answer to the request just past the bound, if anything."""
    expected = {"body": 400}.get(bound.keyword, 404 if bound.where == "path" and bound.keyword == "required" else 422)
    if status != expected:
        return f"{bound}: {status} (expected {expected}) {answer}"
    error = error_of(answer)
    if expected == 422:
        if error.get("field") != bound.name:
            return f"{bound}: refused for {error.get('field')!r}, not {bound.name!r}: {error}"
        if bound.keyword == "enum" and "allowed" in error and set(error["allowed"]) != set(bound.value):
            return f"{bound}: the backend allows {error['allowed']}"
    return None


def form(message: str) -> str:
    """A refusal's message without its numbers and quoted values: the same check says the same form."""
    return re.sub(r"'[^']*'|-?\d+(\.\d+)?", "#", message)


def acceptance_problem(bound: Bound, status: int, answer: Any, refused: dict[str, Any]) -> str | None:
    """What is wrong with the answer to a request at the bound, given the refusal (``refused``) past it.

    At the bound the request may still fail for a reason of its own (no slot has the id 2147483647),
    even naming the field, but not with the refusal the bound gives past it.
    """
    if status >= 500 or status == 400:
        return f"{bound} (at it): {status} {answer}"
    if status >= 400:
        error = error_of(answer)
        if error.get("field") == bound.name and form(error["message"]) == form(refused.get("message", "")):
            return f"{bound} (at it): refused as past it: {error}"
    return None


async def exercise(backend: Backend, bound: Bound, baseline: Baseline) -> list[str | None]:
    """Send the request just past the bound, and those at it: what went wrong."""
    call = await baseline(backend, bound)
    valid = current(call, bound)
    status, answer = await backend.send(bent(call, bound, past(bound, valid)))
    problems = [refusal_problem(bound, status, answer)]
    refused = answer.get("error", {}) if isinstance(answer, dict) else {}
    for value in at(bound, valid):
        call = await baseline(backend, bound)  # fresh records for each: a cancel cancels once
        problems.append(acceptance_problem(bound, *await backend.send(bent(call, bound, value)), refused))
    return problems


# --- The test ---------------------------------------------------------------------------------


@pytest.mark.slow
async def test_every_documented_bound_is_the_enforced_one(backend: Backend) -> None:
    status, doc = await backend.send(Call("GET", "/openapi.json", "service"))
    assert status == 200
    bounds = documented_bounds(doc)
    problems: list[str | None] = []
    exercised: list[Bound] = []
    checked_baselines: set[Operation] = set()
    for bound in bounds:
        operation = (bound.method, bound.route)
        baseline = BASELINES.get(operation)
        if baseline is None:
            problems.append(f"{bound}: no valid request for {bound.method} {bound.route} to bend")
            continue
        if operation not in checked_baselines:  # the baseline itself must be accepted, or every refusal is vacuous
            checked_baselines.add(operation)
            status, answer = await backend.send(await baseline(backend, None))
            if not 200 <= status < 300:
                problems.append(f"{bound.method} {bound.route}: the valid request got {status} {answer}")
        problems += await exercise(backend, bound, baseline)
        exercised.append(bound)
    found = [problem for problem in problems if problem is not None]
    assert found == [], "\n".join(found)
    # None skipped, and the document still documents them: each kind, and the one that had drifted.
    assert exercised == bounds
    kinds = {bound.keyword for bound in bounds}
    assert kinds == {"maxLength", "maximum", "minimum", "enum", "required", "body"}, kinds
    assert any(b.route == "/consults" and b.name == "conversation_id" and b.keyword == "maxLength" for b in bounds)
    assert len(bounds) >= 150, len(bounds)
