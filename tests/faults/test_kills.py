"""Nothing lost, nothing twice: services killed at random moments while workers keep talking.

Five workers (three on the REST channel, two on the web chat) hold consult,
encounter and checklist conversations with a real ``assistant up``. Meanwhile,
at moments drawn from a fixed seed (``FAULT_SEED``), each service in turn is
killed with SIGKILL (the action server, the backend, ``rasa run``, the
console), the backend is frozen (SIGSTOP) for longer than the backend
client's timeout, and ``assistant up`` is stopped and started as a whole.

Afterwards:

- every consult and encounter a worker was told is booked, saved or queued
  is in the backend exactly once, and nothing they were not told about is;
- every turn got a reply (tries that met a dead service were sent again, as
  the clients do);
- each conversation carries on where it was, and after the faults every
  worker completes one more consult.

The tally is printed (``pytest -s``) and written to ``test-artifacts/faults.json``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from assistant.core.config import PROJECT_DIR, load_settings
from assistant.db.device import FILENAME as OUTBOX_FILE
from assistant.domain.api_tokens import local_worker_token
from tests.faults.assistant_under_test import AssistantUnderTest
from tests.support.processes import assistant_cli
from tests.support.scripted_workers import (
    Ledger,
    PatientIds,
    RestChannel,
    ScriptedWorker,
    WebChannel,
    records_made,
)
from tests.support.stack import trained_model

pytestmark = [pytest.mark.stack, pytest.mark.slow]

SEED = int(os.environ.get("FAULT_SEED", "20261202"))
DEMO_PIN = "482916"
FAULTS = ("kill actions", "kill backend", "kill rasa", "kill console", "freeze backend", "restart assistant up")
FREEZE_SECONDS = 8.0  # the backend client gives up on a request after 5 s (Timeouts.total)
DRAIN_SECONDS = 120.0
ARTIFACT = PROJECT_DIR / "test-artifacts" / "faults.json"


@dataclasses.dataclass
class Tally:
    seed: int
    faults: list[dict[str, object]] = dataclasses.field(default_factory=list)


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AssistantUnderTest]:
    trained_model()
    under_test = AssistantUnderTest(tmp_path_factory.mktemp("faults"), {"ASSISTANT_DEMO_PIN": DEMO_PIN})
    under_test.start()
    yield under_test
    under_test.stop()


def _workers(assistant: AssistantUnderTest, ledger: Ledger, rng: random.Random) -> list[ScriptedWorker]:
    env_cli = {key: value for key, value in assistant.env.items() if key.startswith("ASSISTANT_")}
    for worker_id in ("F001", "F002"):
        assistant_cli(
            "worker",
            "add",
            worker_id,
            "--name",
            "Fault Test",
            "--facility",
            "hwc-ajari",
            "--role",
            "worker",
            env=env_cli,
        )
    assistant_cli("worker", "pin", "F002", "--pin", DEMO_PIN, env=env_cli)
    settings = dataclasses.replace(load_settings(), data_dir=assistant.data_dir)
    rasa = assistant.url("rasa")
    channels = {
        "W001": RestChannel(rasa, local_worker_token(settings, "W001")),
        "W002": RestChannel(rasa, local_worker_token(settings, "W002")),
        "F001": RestChannel(rasa, local_worker_token(settings, "F001")),
        "W003": WebChannel(rasa, "W003", DEMO_PIN),
        "F002": WebChannel(rasa, "F002", DEMO_PIN),
    }
    return [
        ScriptedWorker(worker_id, channel, ledger, random.Random(rng.random()))
        for worker_id, channel in channels.items()
    ]


def _talk_until(worker: ScriptedWorker, patients: PatientIds, done: threading.Event, finished: list[str]) -> None:
    while not done.is_set():
        flow = worker.rng.choice(("consult", "encounter", "checklist"))
        worker.run_flow(flow, patients.new())
    # After the faults: the conversation carries on.
    if worker.run_flow("consult", patients.new()):
        finished.append(worker.worker_id)


def _inject(assistant: AssistantUnderTest, ledger: Ledger, rng: random.Random, tally: Tally) -> None:
    schedule = list(FAULTS)
    rng.shuffle(schedule)
    for fault in schedule:
        wait_for = ledger.turns + rng.randint(3, 8)
        while ledger.turns < wait_for:
            time.sleep(0.2)
        time.sleep(rng.uniform(0.0, 1.0))  # somewhere inside a turn, not between two
        started = time.monotonic()
        if fault.startswith("kill "):
            assistant.kill(fault.removeprefix("kill "))
        elif fault == "freeze backend":
            assistant.freeze("backend", FREEZE_SECONDS)
        else:
            assistant.restart()
        assistant.wait_until_healthy()  # fails the test if it does not come back
        tally.faults.append(
            {"fault": fault, "at_turn": ledger.turns, "recovered_s": round(time.monotonic() - started, 1)}
        )


def _outbox_waiting(data_dir: Path) -> int:
    with sqlite3.connect(f"file:{data_dir / OUTBOX_FILE}?mode=ro", uri=True) as connection:
        return connection.execute("SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')").fetchone()[0]


def _outbox_rejected(data_dir: Path) -> int:
    with sqlite3.connect(f"file:{data_dir / OUTBOX_FILE}?mode=ro", uri=True) as connection:
        return connection.execute("SELECT COUNT(*) FROM outbox WHERE status = 'rejected'").fetchone()[0]


def test_killing_any_service_at_any_moment_loses_nothing_and_makes_nothing_twice(
    assistant: AssistantUnderTest,
) -> None:
    rng = random.Random(SEED)
    ledger, tally = Ledger(), Tally(SEED)
    workers = _workers(assistant, ledger, rng)
    patients, done, finished = PatientIds(random.Random(rng.random())), threading.Event(), list[str]()
    threads = [
        threading.Thread(target=_talk_until, args=(worker, patients, done, finished), daemon=True) for worker in workers
    ]
    for thread in threads:
        thread.start()
    try:
        _inject(assistant, ledger, rng, tally)
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=300)

    deadline = time.monotonic() + DRAIN_SECONDS  # the outbox delivers what was queued
    while _outbox_waiting(assistant.data_dir) and time.monotonic() < deadline:
        time.sleep(1)
    backend_db = create_engine(f"sqlite:///{assistant.data_dir / 'backend.db'}", future=True)
    found = records_made(backend_db, [worker.worker_id for worker in workers])
    backend_db.dispose()
    promised = ledger.promised

    report = {
        "seed": SEED,
        "faults": tally.faults,
        "turns": ledger.turns,
        "tries": ledger.tries,
        "apologies": ledger.apologies,
        "records_promised": sum(promised.values()),
        "records_found": sum(found.values()),
        "still_queued": _outbox_waiting(assistant.data_dir),
    }
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))

    assert [fault["fault"] for fault in tally.faults] and len(tally.faults) == len(set(FAULTS))
    assert not any(thread.is_alive() for thread in threads)
    assert ledger.unanswered == []  # every turn got a reply
    assert ledger.lost_place == []  # and each was where the conversation was
    assert sorted(finished) == sorted(worker.worker_id for worker in workers)  # everyone carries on
    assert report["still_queued"] == 0 and _outbox_rejected(assistant.data_dir) == 0
    assert all(count == 1 for count in promised.values())  # patient ids are never reused
    assert found == promised  # exactly once each, and nothing nobody was told about
    assert sum(promised.values()) >= len(workers)
