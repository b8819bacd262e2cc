"""A real district against the demo, in the same run: the console's People page and a turn's backend work.

Two backend databases are built side by side on SQLite files: the demo
(``assistant.backend.seed``: 10 facilities, a dozen people, 28 specialists)
and a district (``bench.district_world``: 5 hubs, 300 facilities, 2,000
people, 100 specialists with weekly hours and slots). Each is served by our
real aiohttp apps in this process (aiohttp's test server, real sockets on
loopback): the backend's ``create_app`` as ``assistant serve backend`` opens
its database, and the console's. Every request is timed in turn on the demo
and on the district, so both see the same machine; the table gives the
medians of ``BENCH_DISTRICT_REPEAT`` (default 40) and the district/demo ratio.

The console: the People page (first page, a name search, a block's filter,
a page deep) as an admin, a district supervisor and a block supervisor, and
the conversation list (its facility picker, and its worker picker of
everyone in the viewer's scope: 2,000 people for an admin) as an admin, a
district supervisor and a hub coordinator. The tracker store is
empty here: bench/console.py times the conversation list with 100,000
conversations; this measures what the number of facilities and people adds.

The backend, the work a turn asks of it: a routine booking (``POST
/consults`` by the action server's service token for the worker), an
encounter (``POST /encounters``), the worker's consults (``GET /consults``)
and a token's first resolution (a fresh token each time: the principal
cache, 15 s, hides it on the turns that follow). A turn's backend share is
these calls; the rest of a turn (Rasa's NLU and policies, the action
server) never reads facilities or people, so it costs what it costs with the
demo. bench/turns.py times whole turns against the demo's stack, which takes
a trained model and the full stack; it has no district variant.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from assistant.backend import seed
from assistant.backend.app import create_app as backend_app
from assistant.backend.app import server_database
from assistant.console.app import create_app as console_app
from assistant.core.config import load_settings
from assistant.db.engine import Database
from assistant.domain.api_tokens import create_token
from bench.district_world import DistrictPeople, build_district
from tests.support.console import CSRF_INPUT
from tests.support.in_process import console_password

REPEAT = int(os.environ.get("BENCH_DISTRICT_REPEAT", "40"))
TIMEZONE = "Asia/Kolkata"
PASSWORD = "bench-district-password"
SEARCH = "sunita"  # a first name: one person in the demo, a tenth of the district


@dataclass(frozen=True)
class Cast:
    """Who acts in one database, and what they look for."""

    worker: str
    admin: str
    district_supervisor: str
    block_supervisor: str
    coordinator: str
    block: str
    sizes: str

    @property
    def console_users(self) -> tuple[str, ...]:
        return (self.admin, self.district_supervisor, self.block_supervisor, self.coordinator)


DEMO_CAST = Cast("W001", "A001", "S001", "S002", "H001", "chc-pindwara", "")


def district_cast(people: DistrictPeople) -> Cast:
    return Cast(
        people.worker,
        people.admin,
        people.district_supervisor,
        people.block_supervisor,
        people.coordinator,
        people.block,
        f"{people.facilities} facilities, {people.people:,} people, {people.specialists} specialists, "
        f"{people.slots:,} slots",
    )


@dataclass
class Served:
    """One database behind the real backend and console apps, with a signed-in console session per user."""

    cast: Cast
    db: Database
    backend: TestServer
    console: TestServer
    http: aiohttp.ClientSession
    console_sessions: dict[str, aiohttp.ClientSession] = field(default_factory=dict)
    service_token: str = ""
    fresh_tokens: dict[str, list[str]] = field(default_factory=dict)

    async def close(self) -> None:
        for session in (self.http, *self.console_sessions.values()):
            await session.close()
        await self.console.close()
        await self.backend.close()
        await self.db.dispose()


async def sign_in(console: TestServer, user: str) -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.get(console.make_url("/login")) as page:
        found = CSRF_INPUT.search(await page.text())
    assert found, "no sign-in form"
    form = {"username": user, "password": PASSWORD, "csrf_token": found.group(1)}
    async with session.post(console.make_url("/login"), data=form, allow_redirects=False) as answer:
        assert answer.status == 303, f"{user} could not sign in: {answer.status}"
    return session


async def serve(root: Path, cast: Cast) -> Served:
    db_url, tracker_url = f"sqlite:///{root / 'backend.db'}", f"sqlite:///{root / 'tracker.db'}"
    db = server_database(db_url)
    backend = TestServer(backend_app(db, close_db=False, timezone=TIMEZONE, housekeeping=False))
    # Cookies marked Secure are not sent over plain http by aiohttp's client (browsers make an exception).
    settings = load_settings({}, data_dir=root, console_secure_cookies=False, timezone=TIMEZONE)
    console = TestServer(console_app(settings, Database.connect(db_url), Database.connect(tracker_url)))
    await backend.start_server()
    await console.start_server()
    served = Served(cast, db, backend, console, aiohttp.ClientSession())
    for user in cast.console_users:
        await asyncio.to_thread(console_password, db_url, user, PASSWORD)
        served.console_sessions[user] = await sign_in(console, user)
    async with db.write() as session:
        served.service_token = await create_token(session, "service", None)
        served.fresh_tokens["service"] = [await create_token(session, "service", None) for _ in range(REPEAT + 1)]
        served.fresh_tokens["supervisor"] = [
            await create_token(session, "supervisor", cast.district_supervisor) for _ in range(REPEAT + 1)
        ]
    return served


Request = Callable[[Served, int], Awaitable[None]]


def console_page(user: Callable[[Cast], str], path: Callable[[Cast], str]) -> Request:
    async def fetch(served: Served, _: int) -> None:
        session = served.console_sessions[user(served.cast)]
        async with session.get(served.console.make_url(path(served.cast)), allow_redirects=False) as answer:
            body = await answer.text()
            assert answer.status == 200, f"{path(served.cast)}: {answer.status} {body[:200]}"

    return fetch


def backend_call(method: str, path: Callable[[Cast], str], body: Callable[[int], dict[str, Any]] | None) -> Request:
    async def call(served: Served, n: int) -> None:
        headers = {
            "Authorization": f"Bearer {served.service_token}",
            "X-On-Behalf-Of": served.cast.worker,
            "Idempotency-Key": f"district-{n}-{time.perf_counter_ns()}",
        }
        payload = body(n) if body else None
        url = served.backend.make_url(path(served.cast))
        async with served.http.request(method, url, json=payload, headers=headers) as answer:
            text = await answer.text()
            assert answer.status in (200, 201), f"{method} {path(served.cast)}: {answer.status} {text[:200]}"

    return call


def first_use(kind: str, on_behalf: bool) -> Request:
    """GET /me with a token never seen before, so its principal is resolved from the database."""

    async def call(served: Served, n: int) -> None:
        headers = {"Authorization": f"Bearer {served.fresh_tokens[kind][n]}"}
        if on_behalf:
            headers["X-On-Behalf-Of"] = served.cast.worker
        async with served.http.get(served.backend.make_url("/me"), headers=headers) as answer:
            assert answer.status == 200, await answer.text()

    return call


def consult_body(n: int) -> dict[str, Any]:
    specialties = ("general_medicine", "pediatrics", "obstetrics_gynecology")
    return {"patient_ref": f"D-{n}", "specialty": specialties[n % 3], "urgency": "routine", "reason": "bench"}


def encounter_body(n: int) -> dict[str, Any]:
    return {
        "patient_ref": f"D-{n}",
        "age": 30,
        "sex": "female",
        "complaint": "fever",
        "vitals": {"systolic_bp": 120, "diastolic_bp": 80, "temperature": 37.5, "temperature_unit": "C"},
    }


SCENARIOS: list[tuple[str, Request]] = [
    ("People, first page (admin)", console_page(lambda c: c.admin, lambda c: "/people")),
    ("People, first page (district supervisor)", console_page(lambda c: c.district_supervisor, lambda c: "/people")),
    ("People, first page (block supervisor)", console_page(lambda c: c.block_supervisor, lambda c: "/people")),
    (f"People, search {SEARCH!r} (admin)", console_page(lambda c: c.admin, lambda c: f"/people?q={SEARCH}")),
    (
        f"People, search {SEARCH!r} (district supervisor)",
        console_page(lambda c: c.district_supervisor, lambda c: f"/people?q={SEARCH}"),
    ),
    ("People, a block's filter (admin)", console_page(lambda c: c.admin, lambda c: f"/people?facility={c.block}")),
    (
        "People, a block's filter (district supervisor)",
        console_page(lambda c: c.district_supervisor, lambda c: f"/people?facility={c.block}&role=worker"),
    ),
    ("People, page 3 (admin)", console_page(lambda c: c.admin, lambda c: "/people?page=3")),
    ("Conversations + pickers (admin)", console_page(lambda c: c.admin, lambda c: "/conversations")),
    (
        "Conversations + picker (district supervisor)",
        console_page(lambda c: c.district_supervisor, lambda c: "/conversations"),
    ),
    ("Conversations + picker (coordinator)", console_page(lambda c: c.coordinator, lambda c: "/conversations")),
    ("POST /consults (routine booking)", backend_call("POST", lambda c: "/consults", consult_body)),
    ("POST /encounters", backend_call("POST", lambda c: "/encounters", encounter_body)),
    ("GET /consults?requested_by= (worker)", backend_call("GET", lambda c: f"/consults?requested_by={c.worker}", None)),
    ("token, first use: service for worker", first_use("service", on_behalf=True)),
    ("token, first use: district supervisor", first_use("supervisor", on_behalf=False)),
]


async def _timed(request: Request, served: Served, n: int) -> float:
    started = time.perf_counter()
    await request(served, n)
    return (time.perf_counter() - started) * 1000


async def measure(demo: Served, district: Served) -> dict[str, tuple[float, float]]:
    """Median ms per scenario on each database, the two taking turns request by request."""
    results: dict[str, tuple[float, float]] = {}
    for label, request in SCENARIOS:
        for served in (demo, district):
            await request(served, REPEAT)  # warm-up (the fresh tokens keep one spare for it)
        samples: dict[int, list[float]] = {id(demo): [], id(district): []}
        for n in range(REPEAT):
            for served in (demo, district):
                samples[id(served)].append(await _timed(request, served, n))
        results[label] = (statistics.median(samples[id(demo)]), statistics.median(samples[id(district)]))
    return results


async def build(root: Path) -> tuple[Cast, float, Cast, float]:
    (root / "demo").mkdir()
    (root / "district").mkdir()
    started = time.perf_counter()
    db = Database.connect(f"sqlite:///{root / 'demo' / 'backend.db'}")
    try:
        report = await seed.seed(db, TIMEZONE)
    finally:
        await db.dispose()
    demo_seconds = time.perf_counter() - started
    demo = dataclasses.replace(DEMO_CAST, sizes=re.sub(r"^added ", "", str(report)))
    started = time.perf_counter()
    db = Database.connect(f"sqlite:///{root / 'district' / 'backend.db'}")
    try:
        district = district_cast(await build_district(db, TIMEZONE))
    finally:
        await db.dispose()
    return demo, demo_seconds, district, time.perf_counter() - started


async def run(root: Path) -> None:
    demo_cast, demo_seconds, cast, district_seconds = await build(root)
    print(f"demo:     {demo_cast.sizes} (seeded in {demo_seconds:.1f} s)")
    print(f"district: {cast.sizes} (built in {district_seconds:.1f} s: bulk rows, refresh_hubs, slots)")
    demo = await serve(root / "demo", demo_cast)
    district = await serve(root / "district", cast)
    try:
        results = await measure(demo, district)
    finally:
        await demo.close()
        await district.close()
    print(f"\nmedian ms of {REPEAT}, in-process over loopback, the two databases taking turns request by request")
    print(f"  {'request':<48} {'demo':>8} {'district':>9}   ratio")
    for label, (small, big) in results.items():
        print(f"  {label:<48} {small:8.1f} {big:9.1f}   {big / small:5.2f}x")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-district-") as scratch:
        asyncio.run(run(Path(scratch)))


if __name__ == "__main__":
    main()
