"""Databases made by earlier releases, opened by today's: every record kept, the schema a fresh install's, and it works.

Issue 25's measure: a 2026-12-01 database (54912d5) opened by the release
before migrations kept the old partial index on held slots (a no-show's slot
could be booked again; on PostgreSQL every booking answered 500) and lacked
three foreign keys a fresh install has. Each database here is made by the
release's own code (``tests/support/old_releases.py``), then migrated by
today's, as every service does on start.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text, update
from sqlalchemy.exc import IntegrityError

from assistant.db.engine import Database
from assistant.db.migrations import migrate
from assistant.db.migrations.snapshot import TableShape, snapshot
from assistant.db.models import Consult, Worker
from assistant.domain.people import add_worker
from tests.support.backend import RunningBackend, serve_backend
from tests.support.in_process import run_on_own_loop
from tests.support.old_releases import RELEASES, build_old_databases, every_row
from tests.support.postgres import PostgresServer

_names = itertools.count(1)
MIGRATED = ("backend", "channels", "outbox")


@dataclass
class Upgraded:
    release: str
    urls: dict[str, str]  # database -> URL
    fresh_urls: dict[str, str]  # the same databases, made new by today's release
    made: dict[str, Any]  # what the old release made (ids)
    before: dict[str, dict[str, list[dict[str, Any]]]]  # database -> table -> rows, before the upgrade


def _urls(dialect: str, where: Path, postgres: PostgresServer | None) -> dict[str, str]:
    urls = {name: f"sqlite:///{where / (name + '.db')}" for name in ("backend", "channels")}
    urls["outbox"] = f"sqlite:///{where / 'actions.db'}"  # the action server's store is always SQLite
    if dialect == "postgres":
        assert postgres is not None
        number = next(_names)
        urls["backend"] = postgres.create_database(f"upgraded_backend_{number}")
        urls["channels"] = postgres.create_database(f"upgraded_channels_{number}")
    return urls


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(
            (release, dialect), id=f"{release}-{dialect}", marks=[pytest.mark.postgres] * (dialect == "postgres")
        )
        for release in RELEASES
        for dialect in ("sqlite", "postgres")
    ],
)
def upgraded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Upgraded:
    release, dialect = request.param
    postgres = request.getfixturevalue("postgres") if dialect == "postgres" else None
    old_dir, fresh_dir = tmp_path_factory.mktemp("old-release"), tmp_path_factory.mktemp("fresh-install")
    urls, fresh_urls = _urls(dialect, old_dir, postgres), _urls(dialect, fresh_dir, postgres)
    made = build_old_databases(RELEASES[release], old_dir, urls["backend"], urls["channels"])
    before = {name: every_row(url) for name, url in urls.items()}
    for name in MIGRATED:
        migrate(urls[name], name)
        migrate(fresh_urls[name], name)
    return Upgraded(release, urls, fresh_urls, made, before)


@pytest.fixture(scope="module")
def backend(upgraded: Upgraded) -> Iterator[RunningBackend]:
    """Today's backend, served on the upgraded database as ``assistant serve backend`` serves it."""
    running = serve_backend(upgraded.urls["backend"])
    yield running
    running.stop()


def _shapes(url: str) -> dict[str, TableShape]:
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            return snapshot(connection)
    finally:
        engine.dispose()


def _projected(rows: list[dict[str, Any]], columns: list[str]) -> Counter[str]:
    return Counter(repr([row[column] for column in columns]) for row in rows)


@pytest.mark.parametrize("database", MIGRATED)
@pytest.mark.slow
def test_every_record_is_kept(upgraded: Upgraded, database: str) -> None:
    before, after = upgraded.before[database], every_row(upgraded.urls[database])
    assert sum(len(rows) for rows in before.values()) > 0, "the old release made no records"
    for table, rows in before.items():
        if table == "pending_choices":  # the 2026-12-01 release's; its rows moved to expected_inputs
            moved = [{**row, "mode": "command"} for row in rows]
            columns = ["channel", "worker_id", "payloads", "mode"]
            assert _projected(moved, columns) <= _projected(after["expected_inputs"], columns)
            assert "pending_choices" not in after
            continue
        columns = sorted(rows[0]) if rows else []
        assert len(after[table]) == len(rows), table
        assert _projected(after[table], columns) == _projected(rows, columns), table


def test_the_records_made_by_the_old_release_read_as_they_were_written(upgraded: Upgraded) -> None:
    rows = every_row(upgraded.urls["backend"])
    consults = {row["id"]: row for row in rows["consults"]}
    assert [consults[number]["patient_ref"] for number in upgraded.made["consults"]] == ["OLD-0", "OLD-1", "OLD-2"]
    assert consults[upgraded.made["consults"][1]]["status"] == "cancelled"
    encounters = {row["id"]: row for row in rows["encounters"]}
    assert [encounters[number]["age_years"] for number in upgraded.made["encounters"]] == [30, 31]
    outbox = every_row(upgraded.urls["outbox"])["outbox"]
    assert {row["idempotency_key"]: row["status"] for row in outbox} == {
        "old-outbox-0": "pending",
        "old-outbox-1": "delivered",
    }
    assert {row["maybe_sent"] for row in outbox} == {False}  # a column added since: its default


@pytest.mark.parametrize("database", MIGRATED)
def test_the_schema_equals_a_fresh_installs(upgraded: Upgraded, database: str) -> None:
    old, fresh = _shapes(upgraded.urls[database]), _shapes(upgraded.fresh_urls[database])
    assert sorted(old) == sorted(fresh)
    for table in fresh:
        assert old[table] == fresh[table], table


def _specialist_login(backend: RunningBackend, consult_id: int) -> str:
    """A login for the specialist of ``consult_id``, made with our own functions (as a roster import would)."""
    login = f"MIG-{consult_id}"

    async def work() -> None:
        db = Database.connect(backend.db_url)
        try:
            async with db.write() as session:
                consult = await session.get(Consult, consult_id)
                assert consult is not None and consult.specialist_id is not None
                if await session.get(Worker, login) is None:
                    specialist = consult.specialist
                    await add_worker(session, login, specialist.name, specialist.facility_id, role="specialist")
                await session.execute(
                    update(Worker).where(Worker.id == login).values(specialist_id=consult.specialist_id)
                )
        finally:
            await db.dispose()

    run_on_own_loop(work)
    return login


def _post(backend: RunningBackend, path: str, headers: dict[str, str], body: dict[str, Any]) -> requests.Response:
    return requests.post(backend.url + path, json=body, headers=headers, timeout=30)


def test_todays_release_books_saves_and_completes(upgraded: Upgraded, backend: RunningBackend) -> None:
    worker = backend.headers("worker", "W001")
    booked = _post(backend, "/consults", worker, {"patient_ref": "NEW-1", "specialty": "general_medicine"})
    assert booked.status_code == 201, booked.text  # on PostgreSQL: the booking's ON CONFLICT finds its index
    saved = _post(backend, "/encounters", worker, {"patient_ref": "NEW-1", "age": 40, "complaint": "fever"})
    assert saved.status_code == 201, saved.text
    # A demo made before hubs gains its hub links when the backend starts, so today's booking finds a specialist.
    assert booked.json()["status"] == "scheduled" and booked.json()["hub_id"] == "aiims-jodhpur", booked.text
    for consult_id in (upgraded.made["consults"][0], booked.json()["id"]):
        login = _specialist_login(backend, consult_id)
        headers = {"Authorization": f"Bearer {backend.token('specialist', login)}"}
        completed = _post(backend, f"/consults/{consult_id}/complete", headers, {"advice": "Rest and fluids."})
        assert completed.status_code == 200, completed.text
        assert completed.json()["status"] == "completed"


def test_a_no_show_keeps_its_slot(upgraded: Upgraded, backend: RunningBackend) -> None:
    consult_id = upgraded.made["no_show"]
    if consult_id is None:  # a release before no-shows: today's marks one on a consult the old release booked
        consult_id = upgraded.made["consults"][2]
        login = _specialist_login(backend, consult_id)
        headers = {"Authorization": f"Bearer {backend.token('specialist', login)}"}
        marked = _post(backend, f"/consults/{consult_id}/no_show", headers, {})
        assert marked.status_code == 200, marked.text
    engine = create_engine(upgraded.urls["backend"], future=True)
    try:
        with engine.connect() as connection:
            slot, status = connection.execute(
                text("SELECT slot_id, status FROM consults WHERE id = :id"), {"id": consult_id}
            ).one()
            assert (status, slot is not None) == ("no_show", True)
            # A booking's own insert on that slot: the unique index on held slots refuses it.
            with pytest.raises(IntegrityError):
                connection.execute(
                    text(
                        "INSERT INTO consults (patient_ref, specialty, urgency, status, requested_by, facility_id,"
                        " slot_id, hub_queue, channel, created_at, updated_at) SELECT 'NEW-2', specialty, urgency,"
                        " 'scheduled', requested_by, facility_id, slot_id, hub_queue, channel, :now, :now"
                        " FROM consults WHERE id = :id"
                    ),
                    {"id": consult_id, "now": dt.datetime(2027, 1, 1)},
                )
    finally:
        engine.dispose()
