"""District scale-out: two `rasa run` servers sharing a PostgreSQL tracker store and a Redis lock store.

A worker's turns land on either server (as behind a load balancer) and the
conversation carries on: the checklist position and a half-filled form live
in the shared tracker store, not in one server's memory.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer
from tests.support.stack import RunningStack, start_district

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def district(
    tmp_path_factory: pytest.TempPathFactory, postgres: PostgresServer, redis: RedisServer
) -> Iterator[tuple[RunningStack, str]]:
    """The stack on PostgreSQL + Redis, plus a second Rasa server; yields the stack and the second server's URL."""
    stack, second_url = start_district(tmp_path_factory.mktemp("district"), postgres, redis)
    yield stack, second_url
    stack.stop()


def test_a_conversation_moves_between_rasa_servers(district: tuple[RunningStack, str]) -> None:
    stack, second_url = district
    first_url = stack.rasa_url
    worker = stack.new_worker()

    def say(url: str, sender: str, message: str) -> str:
        return "\n".join(reply.get("text", "") for reply in stack.say(sender, message, url=url))

    assert "Step 1 of" in say(first_url, worker, "show me the hand hygiene checklist")
    assert "Step 2 of" in say(second_url, worker, "next")
    assert "Step 3 of" in say(first_url, worker, "next")
    say(second_url, worker, "stop")

    readback = say(first_url, worker, "urgent ent consult for patient 3307, ear discharge")
    assert "3307" in readback
    assert say(second_url, worker, "yes").startswith("Booked: Dr.")

    with stack.backend_db.connect() as connection:
        rows = connection.execute(
            text("SELECT specialty, status FROM consults WHERE requested_by = :w"), {"w": worker}
        ).all()
    assert [tuple(row) for row in rows] == [("ent", "scheduled")]
    with stack.engine(stack.tracker_db_url).connect() as connection:
        senders = connection.execute(
            text("SELECT COUNT(*) FROM events WHERE sender_id = :w"), {"w": worker}
        ).scalar_one()
    assert senders > 0  # the transcript is in PostgreSQL
