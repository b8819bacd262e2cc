"""District scale-out: two `rasa run` servers sharing a PostgreSQL tracker store and a Redis lock store.

A worker's turns land on either server (as behind a load balancer) and the
conversation carries on: the checklist position and a half-filled form live
in the shared tracker store, not in one server's memory.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from assistant.core.config import load_settings
from assistant.core.secrets import rasa_token
from assistant.stack.services import rasa_service, service_environment, stack_services
from assistant.stack.supervisor import Supervisor
from assistant.stack.tokens import service_token
from tests.support.postgres import PostgresServer
from tests.support.processes import free_port
from tests.support.redis import RedisServer
from tests.support.stack import MODEL_CACHE, RunningStack, trained_model

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
    data_dir: Path = tmp_path_factory.mktemp("district")
    settings = dataclasses.replace(
        load_settings(),
        data_dir=data_dir,
        backend_port=free_port(),
        actions_port=free_port(),
        rasa_port=free_port(),
        console_port=free_port(),
        model_dir=str(MODEL_CACHE),
        db_url=postgres.create_database("district_backend"),
        tracker_db_url=postgres.create_database("district_tracker"),
        lock_store_url=redis.url,
    )
    model = trained_model()
    tokens = (service_token(settings), rasa_token(settings))
    second = dataclasses.replace(settings, rasa_port=free_port())
    services = [spec for spec in stack_services(settings, model, *tokens) if spec.name != "console"]
    services.append(rasa_service(second, model, tokens[1], service_environment(second, tokens[0]), name="rasa-2"))
    supervisor = Supervisor(services, data_dir / "logs")
    supervisor.start_all()
    stack = RunningStack(settings, supervisor, rasa_token=tokens[1], service_token=tokens[0])
    yield stack, second.rasa_base_url
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
