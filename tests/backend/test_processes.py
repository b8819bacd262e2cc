"""``assistant serve backend`` from several processes on PostgreSQL: one port, one set of guarantees, one lifetime.

The processes share the listening socket; a request may land on any of
them, so the races of the booking and of idempotency keys are run here
across processes. Stopping the parent stops them all, and a process that
dies takes the others down with it, so the stack's supervisor sees the
backend end and restarts it whole. SQLite is served from one process only.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backend.test_booking import count_consults, delete_slots, free_slots
from tests.backend.test_booking_writes import Call, at_once
from tests.support.backend import RunningBackend, start_backend
from tests.support.postgres import PostgresServer
from tests.support.processes import assistant_cli, free_port, http_ok
from tests.support.sockets import descendants

PROCESSES = 3


def serve(db_url: str, log_dir: Path, *options: str) -> RunningBackend:
    return start_backend(db_url, log_dir, options=options)


def servers(backend: RunningBackend) -> list[int]:
    """The processes under the parent (the parent itself serves nothing)."""
    assert backend.process.pid is not None
    return [pid for pid in descendants(backend.process.pid) if pid != backend.process.pid]


def gone(pids: list[int], within: float = 20.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(Path(f"/proc/{pid}").exists() and "(Z)" not in _state(pid) for pid in pids):
            return True
        time.sleep(0.1)
    return False


def _state(pid: int) -> str:
    try:
        return "(" + Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] + ")"
    except OSError:
        return "(gone)"


@pytest.fixture(scope="module")
def backend(postgres: PostgresServer, artifacts_dir: Path) -> Iterator[RunningBackend]:
    running = serve(
        postgres.create_database(f"processes_{uuid.uuid4().hex[:8]}"),
        artifacts_dir / "logs",
        "--processes",
        str(PROCESSES),
    )
    yield running
    running.stop()


def test_the_backend_serves_from_the_processes_asked_for(backend: RunningBackend) -> None:
    # The backend answers once its first process listens; the others may still be starting (on a busy
    # machine, each opening its database takes a while), so they are given time to appear, not taken for granted.
    deadline = time.monotonic() + 60
    while len(servers(backend)) < PROCESSES and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(servers(backend)) == PROCESSES
    assert all(http_ok(backend.url + "/health") for _ in range(20))


def test_bookings_landing_on_every_process_never_share_a_slot(backend: RunningBackend) -> None:
    delete_slots(backend, "orthopedics", keep=12)
    free = len(free_slots(backend, "orthopedics", dt.timedelta(days=14)))
    calls: list[Call] = [
        ("/consults", {"patient_ref": f"MP-{n}", "specialty": "orthopedics", "urgency": "routine"}, backend.headers())
        for n in range(40)
    ]
    answers = at_once(backend, calls)
    assert {status for status, _ in answers} == {201}
    scheduled = [body for _, body in answers if body["status"] == "scheduled"]
    assert len(scheduled) == free
    held = {(body["specialist"]["id"], body["scheduled_for"]) for body in scheduled}
    assert len(held) == free


def test_one_key_sent_to_every_process_books_once(backend: RunningBackend) -> None:
    headers = {**backend.headers(), "Idempotency-Key": str(uuid.uuid4())}
    body = {"patient_ref": "MP-TWIN", "specialty": "ent", "urgency": "routine"}
    answers = at_once(backend, [("/consults", body, headers)] * 12)
    assert {status for status, _ in answers} == {201}
    assert len({str(answer) for _, answer in answers}) == 1
    assert count_consults(backend, "MP-TWIN") == 1


def test_stopping_the_parent_stops_every_process(postgres: PostgresServer, tmp_path: Path) -> None:
    running = serve(postgres.create_database(f"stop_{uuid.uuid4().hex[:8]}"), tmp_path, "--processes", "2")
    children = servers(running)
    assert len(children) == 2
    assert running.process.process is not None
    running.process.process.send_signal(signal.SIGTERM)  # the parent alone, not its process group
    assert running.process.process.wait(timeout=30) == 0
    assert gone(children)


def test_a_process_that_dies_takes_the_backend_down_with_it(postgres: PostgresServer, tmp_path: Path) -> None:
    running = serve(postgres.create_database(f"die_{uuid.uuid4().hex[:8]}"), tmp_path, "--processes", "2")
    children = servers(running)
    os.kill(children[0], signal.SIGKILL)
    assert running.process.process is not None
    assert running.process.process.wait(timeout=30) != 0  # so `assistant up` restarts the backend
    assert gone(children)


def test_a_parent_killed_outright_leaves_no_process_serving(postgres: PostgresServer, tmp_path: Path) -> None:
    running = serve(postgres.create_database(f"orphan_{uuid.uuid4().hex[:8]}"), tmp_path, "--processes", "2")
    children = servers(running)
    assert running.process.process is not None
    running.process.process.kill()
    running.process.process.wait(timeout=30)
    assert gone(children)
    assert not http_ok(running.url + "/health")


def test_sqlite_is_served_from_one_process(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="one writer at a time"):
        assistant_cli(
            "serve",
            "backend",
            "--db",
            f"sqlite:///{tmp_path / 'one.db'}",
            "--port",
            str(free_port()),
            "--processes",
            "2",
        )
