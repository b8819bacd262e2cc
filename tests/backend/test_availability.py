"""Weekly hours become slots, and the hub changes them: the real backend app on a real database (SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import create_engine, func, select, text

from assistant.backend import seed
from assistant.backend.app import create_app
from assistant.db.engine import Database
from assistant.db.models import Availability, Consult, Facility, Slot, Specialist, Worker, utcnow
from assistant.domain.api_tokens import create_token
from assistant.domain.slot_window import generate_slots
from tests.support.backend import start_backend
from tests.support.postgres import PostgresServer

TIMEZONE = "Asia/Kolkata"
ZONE = ZoneInfo(TIMEZONE)
# A Monday, 10:30 in Jodhpur.
NOW = dt.datetime(2030, 1, 7, 5, 0, tzinfo=dt.timezone.utc)
DAY = dt.timedelta(days=1)
_names = itertools.count(1)


def local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(ZONE)


async def database(request: pytest.FixtureRequest, tmp_path: Any) -> Database:
    """A new database: SQLite in a file, or one on the session's PostgreSQL server."""
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres")
        return Database.connect(server.create_database(f"availability_{next(_names)}"))
    return Database.connect(f"sqlite:///{tmp_path / 'backend.db'}")


BOTH = pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)


@pytest.fixture
async def db(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Database]:
    engine = await database(request, tmp_path)
    await engine.migrate()
    yield engine
    await engine.dispose()


async def one_specialist(db: Database, hours: list[tuple[int, str, str, int]]) -> int:
    """A specialist at a hub with these weekly hours (weekday, start, end, slot minutes)."""
    async with db.write() as session:
        session.add(Facility(id="hub", name="Hub", kind="hub", district="Jodhpur"))
        await session.flush()
        specialist = Specialist(name="Dr. Test", specialty="dermatology", facility_id="hub", upn="test@hub.example")
        session.add(specialist)
        await session.flush()
        for weekday, start, end, minutes in hours:
            session.add(
                Availability(
                    specialist_id=specialist.id, weekday=weekday, start_time=start, end_time=end, slot_minutes=minutes
                )
            )
        return int(specialist.id)


async def slot_starts(db: Database) -> list[dt.datetime]:
    async with db.read() as session:
        return list((await session.execute(select(Slot.starts_at).order_by(Slot.starts_at))).scalars())


# --- Rolling generation ---------------------------------------------------------------


@BOTH
async def test_the_window_rolls_forward_a_day_at_a_time_and_never_makes_a_slot_twice(db: Database) -> None:
    # Mondays 10:00-12:00 in hours; Wednesdays 09:00-09:45 in 20-minute slots (the last 5 minutes hold none).
    await one_specialist(db, [(0, "10:00", "12:00", 60), (2, "09:00", "09:45", 20)])
    async with db.write() as session:
        first = await generate_slots(session, TIMEZONE, NOW)
    starts = await slot_starts(db)
    assert len(starts) == first == len(set(starts))
    # From Monday 10:30: today's 10:00 has begun; the Monday 14 days on is cut up to 10:30 only.
    assert [local(start).strftime("%a %d %H:%M") for start in starts] == [
        "Mon 07 11:00",
        "Wed 09 09:00",
        "Wed 09 09:20",
        "Mon 14 10:00",
        "Mon 14 11:00",
        "Wed 16 09:00",
        "Wed 16 09:20",
        "Mon 21 10:00",
    ]
    async with db.write() as session:
        assert await generate_slots(session, TIMEZONE, NOW) == 0
    # Two days later the window reaches Monday 21 11:00 and Wednesday 23: exactly those are added.
    async with db.write() as session:
        assert await generate_slots(session, TIMEZONE, NOW + 2 * DAY) == 3
    later = await slot_starts(db)
    assert len(later) == len(set(later)) == len(starts) + 3
    assert [local(start).strftime("%a %d %H:%M") for start in later[len(starts) :]] == [
        "Mon 21 11:00",
        "Wed 23 09:00",
        "Wed 23 09:20",
    ]


@BOTH
async def test_a_slot_taken_away_by_hand_is_not_made_again(db: Database) -> None:
    await one_specialist(db, [(2, "09:00", "10:00", 30)])
    async with db.write() as session:
        await generate_slots(session, TIMEZONE, NOW)
    first = (await slot_starts(db))[0]
    async with db.write() as session:
        await session.execute(Slot.__table__.delete().where(Slot.starts_at == first))
    async with db.write() as session:
        assert await generate_slots(session, TIMEZONE, NOW + dt.timedelta(hours=1)) == 0
    assert first not in await slot_starts(db)


async def test_two_backends_generating_at_once_on_sqlite_make_each_slot_once(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'backend.db'}"
    one, two = Database.connect(url), Database.connect(url)  # two processes' engines, one file
    try:
        await one.migrate()
        await one_specialist(one, [(day, "08:00", "20:00", 10) for day in range(7)])

        async def generate(db: Database) -> int:
            async with db.write() as session:
                return await generate_slots(session, TIMEZONE, NOW)

        made = await asyncio.gather(generate(one), generate(two))
        starts = await slot_starts(one)
        assert sum(made) == len(starts) == len(set(starts)) > 1000
    finally:
        await one.dispose()
        await two.dispose()


@pytest.mark.postgres
async def test_two_backends_generating_at_once_on_postgres_make_each_slot_once(postgres: PostgresServer) -> None:
    url = postgres.create_database(f"availability_{next(_names)}")
    one, two, watcher = Database.connect(url), Database.connect(url), Database.connect(url)
    try:
        await one.migrate()
        await one_specialist(one, [(day, "08:00", "20:00", 10) for day in range(7)])
        first_done = asyncio.Event()

        async def second_is_waiting() -> None:
            """Until the second generator waits on the first one's uncommitted slots (both saw none)."""
            waiting = text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            for _ in range(400):
                async with watcher.read() as session:
                    if (await session.execute(waiting)).scalar_one():
                        return
                await asyncio.sleep(0.05)
            raise AssertionError("the second generator never waited on the first")

        async def first() -> int:
            async with one.write() as session:
                made = await generate_slots(session, TIMEZONE, NOW)
                first_done.set()
                await second_is_waiting()
            return made

        async def second() -> int:
            await first_done.wait()
            async with two.write() as session:
                return await generate_slots(session, TIMEZONE, NOW)

        made = await asyncio.gather(first(), second())
        starts = await slot_starts(one)
        assert made[0] == len(starts) == len(set(starts)) and made[1] == 0
    finally:
        for engine in (one, two, watcher):
            await engine.dispose()


# --- The HTTP API ---------------------------------------------------------------------


@dataclass
class Desk:
    client: TestClient
    db: Database
    tokens: dict[str, str]

    def auth(self, worker: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[worker]}", **extra}

    async def specialist_of(self, login: str) -> int:
        async with self.db.read() as session:
            worker = await session.get(Worker, login)
            return int(worker.specialist_id)

    async def call(self, method: str, path: str, worker: str, body: Any = None, **headers: str) -> tuple[int, Any]:
        response = await self.client.request(method, path, json=body, headers=self.auth(worker, **headers))
        return response.status, await response.json()

    async def slots_of(self, availability_id: int) -> list[Slot]:
        async with self.db.read() as session:
            query = select(Slot).where(Slot.availability_id == availability_id).order_by(Slot.starts_at)
            return list((await session.execute(query)).unique().scalars())


PEOPLE = {"H001": "coordinator", "H101": "specialist", "H102": "specialist", "W001": "worker", "S001": "supervisor"}


@pytest.fixture
async def desk(db: Database) -> AsyncIterator[Desk]:
    await seed.seed(db, TIMEZONE)
    async with db.write() as session:
        tokens = {worker: await create_token(session, role, worker) for worker, role in PEOPLE.items()}
        tokens["admin"] = await create_token(session, "admin")
    client = TestClient(TestServer(create_app(db, close_db=False, timezone=TIMEZONE)))
    await client.start_server()
    yield Desk(client, db, tokens)
    await client.close()


def on_monday_evenings(slots: list[Slot]) -> set[str]:
    return {local(slot.starts_at).strftime("%a %H:%M") for slot in slots}


@BOTH
async def test_weekly_hours_added_are_cut_into_slots_at_once(desk: Desk) -> None:
    specialist = await desk.specialist_of("H102")
    body = {"specialist_id": specialist, "weekday": "mon", "start": "18:00", "end": "19:00", "slot_minutes": 20}
    status, hours = await desk.call("POST", "/availability", "H001", body, **{"Idempotency-Key": "hours-1"})
    assert status == 201, hours
    assert {key: hours[key] for key in ("specialist_id", "weekday", "start", "end", "slot_minutes")} == {
        "specialist_id": specialist,
        "weekday": 0,
        "start": "18:00",
        "end": "19:00",
        "slot_minutes": 20,
    }
    slots = await desk.slots_of(hours["id"])
    # Any 14 days hold each weekly time exactly twice.
    assert hours["slots_added"] == len(slots) == 6
    assert on_monday_evenings(slots) == {"Mon 18:00", "Mon 18:20", "Mon 18:40"}
    assert all(
        slot.ends_at - slot.starts_at == dt.timedelta(minutes=20) and slot.starts_at > utcnow() for slot in slots
    )
    # The same request again replays; it does not add the hours twice.
    again, replayed = await desk.call("POST", "/availability", "H001", body, **{"Idempotency-Key": "hours-1"})
    assert (again, replayed) == (201, hours)
    status, listed = await desk.call("GET", f"/availability?specialist_id={specialist}", "H001")
    assert status == 200
    assert [item["id"] for item in listed["items"] if item["start"] == "18:00"] == [hours["id"]]


@BOTH
async def test_hours_that_overlap_or_make_no_sense_are_refused(desk: Desk) -> None:
    specialist = await desk.specialist_of("H102")

    async def post(**body: Any) -> tuple[int, Any]:
        return await desk.call("POST", "/availability", "H001", {"specialist_id": specialist, **body})

    status, answer = await post(weekday=1, start="11:00", end="12:00")  # the demo's 10:00-11:30 on Tuesdays
    assert status == 409 and answer["error"]["code"] == "conflict"
    for body, field in [
        ({"weekday": 1, "start": "13:00", "end": "12:00"}, "end"),
        ({"weekday": 1, "start": "16:00", "end": "16:20"}, "end"),  # not one 30-minute slot
        ({"weekday": "funday", "start": "16:00", "end": "17:00"}, "weekday"),
        ({"weekday": 7, "start": "16:00", "end": "17:00"}, "weekday"),
        ({"weekday": 1, "start": "25:00", "end": "26:00"}, "start"),
        ({"weekday": 1, "start": "16:00", "end": "17:00", "slot_minutes": 3}, "slot_minutes"),
        ({"weekday": 1, "start": "16:00", "end": "17:00", "specialist_id": "x"}, "specialist_id"),
    ]:
        status, answer = await post(**body)
        assert (status, answer["error"]["code"], answer["error"]["field"]) == (422, "validation_error", field), body
    status, answer = await post(weekday=1, start="16:00", end="17:00", specialist_id=999_999)
    assert status == 404


async def hold(desk: Desk, slot: Slot, status: str = "scheduled") -> int:
    """A consult holding the slot (or, cancelled, one that once had it)."""
    async with desk.db.write() as session:
        consult = Consult(
            patient_ref="AV-1",
            specialty=slot.specialist.specialty,
            urgency="routine",
            status=status,
            requested_by="W001",
            facility_id="hwc-ajari",
            slot_id=slot.id,
            specialist_id=slot.specialist_id,
            scheduled_for=slot.starts_at,
        )
        session.add(consult)
        await session.flush()
        return int(consult.id)


@BOTH
async def test_removing_hours_removes_their_free_slots_and_keeps_the_booked_one(desk: Desk) -> None:
    body = {"weekday": "sat", "start": "17:00", "end": "18:30"}
    status, hours = await desk.call("POST", "/availability", "H101", body)  # a specialist's own, by default
    assert status == 201 and hours["specialist_id"] == await desk.specialist_of("H101")
    booked, once_booked, *free = await desk.slots_of(hours["id"])
    consult = await hold(desk, booked)
    cancelled = await hold(desk, once_booked, "cancelled")

    status, removed = await desk.call("DELETE", f"/availability/{hours['id']}", "H101")
    assert status == 200, removed
    assert removed["slots_removed"] == 1 + len(free) and removed["slots_kept"] == 1
    assert removed["kept"] == [
        {"id": booked.id, "start": booked.starts_at.isoformat().replace("+00:00", "Z"), "consult_id": consult}
    ]
    async with desk.db.read() as session:
        assert (await session.get(Slot, booked.id)).availability_id is None  # still there, still booked
        assert (await session.get(Consult, consult)).status == "scheduled"
        assert (await session.get(Consult, cancelled)).slot_id is None  # its old slot is gone
        ids = [slot.id for slot in [once_booked, *free]]
        assert (await session.execute(select(func.count(Slot.id)).where(Slot.id.in_(ids)))).scalar_one() == 0
        assert await session.get(Availability, hours["id"]) is None
    # The booked slot is still the specialist's: nothing new may start then.
    status, _ = await desk.call("POST", "/slots", "H101", {"start": booked.starts_at.isoformat()})
    assert status == 409
    assert (await desk.call("DELETE", f"/availability/{hours['id']}", "H101"))[0] == 404


@BOTH
async def test_a_single_slot_is_added_once_and_removed_while_free(desk: Desk) -> None:
    start = local(utcnow() + 3 * DAY).replace(hour=20, minute=0, second=0, microsecond=0)
    status, slot = await desk.call("POST", "/slots", "H101", {"start": start.isoformat(), "minutes": 45})
    assert status == 201, slot
    assert slot["availability_id"] is None and slot["specialist_id"] == await desk.specialist_of("H101")
    assert (slot["start"], slot["end"]) == (
        start.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
        (start + dt.timedelta(minutes=45)).astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
    )
    for clash in (start, start + dt.timedelta(minutes=30)):  # the same start, or inside it
        status, answer = await desk.call("POST", "/slots", "H101", {"start": clash.isoformat()})
        assert (status, answer["error"]["code"]) == (409, "conflict")
    status, answer = await desk.call(
        "POST", "/slots", "H101", {"start": (utcnow() - DAY).isoformat(timespec="minutes")}
    )
    assert (status, answer["error"]["field"]) == (422, "start")

    assert await desk.call("DELETE", f"/slots/{slot['id']}", "H101") == (200, {"id": slot["id"], "removed": True})
    assert (await desk.call("DELETE", f"/slots/{slot['id']}", "H101"))[0] == 404
    # A held slot stays until the hub moves its consult.
    status, held = await desk.call(
        "POST", "/slots", "H001", {"specialist_id": slot["specialist_id"], "start": start.isoformat()}
    )
    assert status == 201
    async with desk.db.read() as session:
        consult = await hold(desk, await session.get(Slot, held["id"]))
    status, answer = await desk.call("DELETE", f"/slots/{held['id']}", "H001")
    assert (status, answer["error"]["code"]) == (409, "conflict") and str(consult) in answer["error"]["message"]


@BOTH
async def test_a_specialist_changes_only_their_own_hours_and_slots(desk: Desk) -> None:
    other = await desk.specialist_of("H102")
    status, theirs = await desk.call(
        "POST", "/availability", "H001", {"specialist_id": other, "weekday": 4, "start": "19:00", "end": "20:00"}
    )
    assert status == 201
    their_slots = [slot.id for slot in await desk.slots_of(theirs["id"])]
    for method, path, body in [
        ("POST", "/availability", {"specialist_id": other, "weekday": 5, "start": "19:00", "end": "20:00"}),
        ("DELETE", f"/availability/{theirs['id']}", None),
        ("POST", "/slots", {"specialist_id": other, "start": (utcnow() + 5 * DAY).isoformat(timespec="minutes")}),
        ("DELETE", f"/slots/{their_slots[0]}", None),
        ("GET", f"/availability?specialist_id={other}", None),
    ]:
        status, answer = await desk.call(method, path, "H101", body)
        assert (status, answer["error"]["code"]) == (403, "forbidden"), (method, path)
    assert [slot.id for slot in await desk.slots_of(theirs["id"])] == their_slots  # nothing was changed
    async with desk.db.read() as session:
        assert await session.get(Availability, theirs["id"]) is not None


@BOTH
async def test_health_workers_and_supervisors_may_not_touch_the_hours(desk: Desk) -> None:
    specialist = await desk.specialist_of("H102")
    body = {"specialist_id": specialist, "weekday": 6, "start": "19:00", "end": "20:00"}
    for who in ("W001", "S001"):
        for method, path, sent in [("GET", "/availability", None), ("POST", "/availability", body)]:
            status, answer = await desk.call(method, path, who, sent)
            assert (status, answer["error"]["code"]) == (403, "forbidden"), (who, method)
    async with desk.db.read() as session:
        query = select(func.count(Availability.id)).where(Availability.weekday == 6, Availability.start_time == "19:00")
        assert (await session.execute(query)).scalar_one() == 0


@BOTH
async def test_a_coordinator_manages_only_the_specialists_their_hub_serves(desk: Desk) -> None:
    async with desk.db.write() as session:
        session.add(Facility(id="elsewhere", name="Another hub", kind="hub", district="Jaipur"))
        await session.flush()
        stranger = Specialist(name="Dr. Far", specialty="ent", facility_id="elsewhere", upn="far@elsewhere.example")
        session.add(stranger)
        await session.flush()
        stranger_id = stranger.id
    body = {"specialist_id": stranger_id, "weekday": 0, "start": "19:00", "end": "20:00"}
    assert (await desk.call("POST", "/availability", "H001", body))[0] == 404
    assert (await desk.call("POST", "/availability", "admin", body))[0] == 201
    status, listed = await desk.call("GET", "/availability", "H001")
    assert status == 200 and listed["items"]
    assert stranger_id not in {item["specialist_id"] for item in listed["items"]}
    # Every seeded specialist at the hub or at Sirohi, which the hub serves; none of the Udaipur hub's.
    async with desk.db.read() as session:
        query = select(Specialist.id).join(Facility, Facility.id == Specialist.facility_id)
        ours = set((await session.execute(query.where(Facility.served_by == "aiims-jodhpur"))).scalars())
        theirs = set((await session.execute(query.where(Facility.served_by == "rnt-udaipur"))).scalars())
    assert theirs and {item["specialist_id"] for item in listed["items"]} == ours


def test_the_backend_cuts_the_days_that_came_while_it_was_down_when_it_starts(
    tmp_path: Any, artifacts_dir: Any
) -> None:
    url = f"sqlite:///{tmp_path / 'backend.db'}"
    three_days_ago = utcnow() - 3 * DAY

    async def seed_back_then() -> None:
        engine = Database.connect(url)
        try:
            await seed.seed(engine, TIMEZONE, now=three_days_ago)
        finally:
            await engine.dispose()

    def latest_start() -> dt.datetime:
        engine = create_engine(url, future=True)
        try:
            with engine.connect() as connection:
                found = connection.execute(select(func.max(Slot.starts_at))).scalar_one()
                duplicates = connection.execute(
                    text(
                        "SELECT COUNT(*) FROM (SELECT 1 FROM slots GROUP BY specialist_id, starts_at "
                        "HAVING COUNT(*) > 1) AS twice"
                    )
                ).scalar_one()
        finally:
            engine.dispose()
        assert duplicates == 0
        return found

    asyncio.run(seed_back_then())
    assert latest_start() < three_days_ago + 14 * DAY
    backend = start_backend(url, artifacts_dir / "logs", env={"ASSISTANT_TIMEZONE": TIMEZONE})
    try:
        # Ready means started: the top-up runs before the backend listens.
        assert latest_start() > utcnow() + 13 * DAY
    finally:
        backend.stop()
