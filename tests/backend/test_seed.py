"""`assistant seed` is idempotent and loads what the issue promises."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text

from assistant.backend.seed import load_demo
from tests.support.processes import assistant_cli


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url, future=True)
    with engine.connect() as connection:
        result = {
            table: connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
            for table in (
                "facilities",
                "workers",
                "specialists",
                "availability",
                "slots",
                "checklists",
                "checklist_steps",
            )
        }
        per_specialty = connection.execute(
            text("SELECT MIN(n) FROM (SELECT COUNT(*) AS n FROM specialists GROUP BY specialty) AS t")
        ).scalar_one()
        facilities = connection.execute(text("SELECT COUNT(DISTINCT facility_id) FROM specialists")).scalar_one()
        supervisors = connection.execute(text("SELECT COUNT(*) FROM workers WHERE role = 'supervisor'")).scalar_one()
    engine.dispose()
    return {
        **result,
        "min_per_specialty": per_specialty,
        "specialist_facilities": facilities,
        "supervisors": supervisors,
    }


def test_seed_twice_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'seed.db'}"
    assistant_cli("seed", "--db", url)
    first = counts(url)
    output = assistant_cli("seed", "--db", url)
    assert "added 0 facilities, 0 workers, 0 specialists, 0 slots, 0 weekly hours" in output
    assert counts(url) == first
    assert first["min_per_specialty"] >= 2 and first["specialist_facilities"] >= 2
    assert first["checklists"] == 12 and first["supervisors"] >= 1
    # 14 days of slots for every specialist (today's past times excluded).
    assert first["slots"] >= first["specialists"] * 6 * 13


def test_seed_works_on_postgres(postgres) -> None:  # type: ignore[no-untyped-def]
    url = postgres.create_database("seed_check")
    assistant_cli("seed", "--db", url)
    assistant_cli("seed", "--db", url)
    assert counts(url)["checklists"] == 12


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def test_the_hub_coordinator_and_every_specialist_can_sign_in(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'seed.db'}"
    assistant_cli("seed", "--db", url)
    assert rows(url, "SELECT role, facility_id, name, designation FROM workers WHERE id = 'H001'") == [
        ("coordinator", "aiims-jodhpur", "Hub coordinator", "Hub coordinator")
    ]
    assert rows(url, "SELECT hub_id FROM facilities WHERE id = 'dh-sirohi'") == [("aiims-jodhpur",)]
    logins = rows(
        url,
        "SELECT w.id, w.role, w.name = s.name, w.facility_id = s.facility_id, s.upn FROM workers w "
        "JOIN specialists s ON s.id = w.specialist_id ORDER BY w.id",
    )
    # One for each specialist, with the login demo.yaml gives them (H101... at Jodhpur, H201... at Udaipur).
    expected = sorted((entry["login"], "specialist", 1, 1, entry["upn"]) for entry in load_demo()["specialists"])
    assert logins == expected
    # The login's token is what the Hub desk signs in with.
    assert assistant_cli("token", "create", "--db", url, "--role", "specialist", "--worker", "H101").startswith("fa_")


def test_the_demo_hours_make_the_same_slots_as_before(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'seed.db'}"
    started = dt.datetime.now(dt.timezone.utc)
    assistant_cli("seed", "--db", url)
    finished = dt.datetime.now(dt.timezone.utc)
    specialists = rows(url, "SELECT COUNT(*) FROM specialists")[0][0]
    hours = rows(url, "SELECT specialist_id, weekday, start_time, end_time, slot_minutes FROM availability")
    assert len(hours) == specialists * 7 * 2
    assert {hour[1:] for hour in hours} == {
        (day, start, end, 30) for day in range(7) for start, end in (("10:00", "11:30"), ("14:00", "15:30"))
    }
    zone = ZoneInfo("Asia/Kolkata")
    slots = rows(url, "SELECT specialist_id, starts_at, ends_at, availability_id FROM slots")
    starts = {(specialist, utc(start)) for specialist, start, _, _ in slots}
    assert len(starts) == len(slots)
    times = ("10:00", "10:30", "11:00", "14:00", "14:30", "15:00")
    # Each at one of the demo's times, 30 minutes, cut from its specialist's hours, in the 14 days ahead ...
    window_of = {row[0]: row[1] for row in rows(url, "SELECT id, specialist_id FROM availability")}
    for specialist, start, end, availability_id in slots:
        assert utc(start).astimezone(zone).strftime("%H:%M") in times
        assert utc(end) - utc(start) == dt.timedelta(minutes=30)
        assert window_of[availability_id] == specialist
        assert started <= utc(start) < finished + dt.timedelta(days=14)
    # ... and every one of those times there: the 14 days from the seed hold each of them twice a week.
    today = started.astimezone(zone).date()
    for specialist in {row[0] for row in slots}:
        for offset in range(15):
            for at in times:
                start = dt.datetime.combine(
                    today + dt.timedelta(days=offset), dt.time.fromisoformat(at), tzinfo=zone
                ).astimezone(dt.timezone.utc)
                if finished <= start < started + dt.timedelta(days=14):
                    assert (specialist, start) in starts


def utc(value: Any) -> dt.datetime:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=dt.timezone.utc)


def test_a_specialists_own_hours_survive_a_new_seed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'seed.db'}"
    assistant_cli("seed", "--db", url)
    engine = create_engine(url, future=True)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM slots WHERE specialist_id = 1"))
        connection.execute(text("DELETE FROM availability WHERE specialist_id = 1"))
        connection.execute(
            text(
                "INSERT INTO availability (specialist_id, weekday, start_time, end_time, slot_minutes, created_at) "
                "VALUES (1, 2, '16:00', '17:00', 60, '2025-01-01 00:00:00')"
            )
        )
    engine.dispose()
    output = assistant_cli("seed", "--db", url)
    assert ", 0 weekly hours;" in output
    assert rows(url, "SELECT weekday, start_time, end_time FROM availability WHERE specialist_id = 1") == [
        (2, "16:00", "17:00")
    ]
    # Its slots are its own hours' (two Wednesdays in 14 days), not the demo's.
    assert rows(url, "SELECT COUNT(*), MIN(ends_at > starts_at) FROM slots WHERE specialist_id = 1") == [(2, 1)]
