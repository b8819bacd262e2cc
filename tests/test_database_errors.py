"""A database error never carries the statement's values (patient data) into its message or the log.

Each engine of ours is made with ``hide_parameters`` (``assistant.db.engine_options``);
here real databases refuse a real statement holding a recognisable value:
the backend's (async, through the app itself), the action server's outbox
(sync) and Rasa's tracker store (its own engine, given the same rule).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy.exc import IntegrityError

from assistant.backend.app import create_app, server_database
from assistant.db.device import open_engine, outbox_table
from assistant.domain.api_tokens import create_token
from assistant.rasa_server import tracker_indexes
from tests.support.in_process import seeded

# What a patient's record would hold; none of it may appear in an error or a log line.
PATIENT_REF = "PRIVATE-REF-80417"
COMPLAINT = "private complaint 80417"


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[TestClient]:
    """The backend's own app on a seeded SQLite database whose encounters table refuses every insert."""
    url = f"sqlite:///{tmp_path / 'backend.db'}"
    seeded(url)
    # A real refusal by the database itself (SQLite raises it as an IntegrityError), of a statement the app
    # has no reason to expect to fail: what an unexpected database error looks like.
    with contextlib.closing(sqlite3.connect(tmp_path / "backend.db")) as connection:
        connection.execute(
            "CREATE TRIGGER refuse_encounters BEFORE INSERT ON encounters BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
        connection.commit()
    db = server_database(url)
    async with db.write() as session:
        token = await create_token(session, "worker", "W001")
    client = TestClient(TestServer(create_app(db)), headers={"Authorization": f"Bearer {token}"})
    await client.start_server()
    yield client
    await client.close()


async def test_an_unexpected_database_error_leaves_the_values_out_of_the_log(
    backend: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    body = {"patient_ref": PATIENT_REF, "age": 40, "complaint": COMPLAINT}
    response = await backend.post("/encounters", json=body)
    assert response.status == 500
    assert "unhandled error on POST /encounters" in caplog.text and "IntegrityError" in caplog.text
    assert "parameters hidden" in caplog.text  # the statement is told, its values are not
    assert PATIENT_REF not in caplog.text and COMPLAINT not in caplog.text


def test_the_action_servers_outbox_leaves_the_values_out_of_its_errors(tmp_path: Path) -> None:
    engine = open_engine(tmp_path)
    now = dt.datetime.now()
    row = {
        "kind": "encounter",
        "idempotency_key": "key-1",
        "worker_id": "W001",
        "payload": f'{{"patient_ref": "{PATIENT_REF}"}}',
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(outbox_table).values(row))
        with pytest.raises(IntegrityError) as refused, engine.begin() as connection:
            connection.execute(sa.insert(outbox_table).values(row))  # the same idempotency key again
    finally:
        engine.dispose()
    assert "UNIQUE" in str(refused.value) and PATIENT_REF not in str(refused.value)


def test_rasas_tracker_store_leaves_the_values_out_of_its_errors(tmp_path: Path) -> None:
    tracker_indexes.install()
    store = SQLTrackerStore(dialect="sqlite", db=str(tmp_path / "tracker.db"))
    events = SQLTrackerStore.SQLEvent.__table__
    row = {"id": 1, "sender_id": "W001", "type_name": "user", "timestamp": 1.0, "data": f'{{"text": "{COMPLAINT}"}}'}
    try:
        with store.engine.begin() as connection:
            connection.execute(events.insert().values(row))
        with pytest.raises(IntegrityError) as refused, store.engine.begin() as connection:
            connection.execute(events.insert().values(row))  # the same event id again
    finally:
        store.engine.dispose()
    assert "UNIQUE" in str(refused.value) and COMPLAINT not in str(refused.value)
