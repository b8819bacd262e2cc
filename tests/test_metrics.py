"""``/metrics`` of the backend and the console, their real apps in this process (issue 25).

Each answers this machine in the Prometheus text format, refuses a caller
elsewhere (here: forwarded by a proxy on this machine, as a LAN caller
reaches it) unless it brings the metrics token, and its figures move with
real operations. No label carries a worker or a patient. The turns of Rasa
and the action server are checked on the running stack
(tests/test_conversations.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from assistant.backend.app import create_app as backend_app
from assistant.channels.state import ChannelState, OutgoingReply
from assistant.console.app import create_app as console_app
from assistant.core.backup_age import archive_name, now_utc
from assistant.core.config import Settings
from assistant.core.secrets import metrics_token
from assistant.db.engine import Database
from assistant.domain.api_tokens import create_token
from tests.support.in_process import seeded
from tests.support.metrics import assert_no_identifier_in_labels, samples, value

PROXIED = {"X-Forwarded-For": "192.168.1.20"}  # a phone on the clinic LAN, through the TLS proxy
CONTENT_TYPE = "text/plain; version=0.0.4"


def with_metrics_token(settings: Settings) -> Settings:
    """The settings as ``assistant up`` hands them to its services: the metrics token resolved."""
    return dataclasses.replace(settings, metrics_token=metrics_token(settings))


@dataclasses.dataclass
class Backend:
    client: TestClient
    settings: Settings
    worker_token: str

    async def metrics(self, headers: dict[str, str] | None = None) -> tuple[int, str, str]:
        response = await self.client.get("/metrics", headers=headers or {})
        return response.status, response.headers.get("Content-Type", ""), await response.text()


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[Backend]:
    settings = with_metrics_token(Settings(data_dir=tmp_path))
    seeded(settings.database_url)
    db = Database.connect(settings.database_url)
    async with db.write() as session:
        token = await create_token(session, "worker", "W001", label="metrics test")
    client = TestClient(TestServer(backend_app(db, close_db=False, housekeeping=False, settings=settings)))
    await client.start_server()
    yield Backend(client, settings, token)
    await client.close()
    await db.dispose()


async def test_the_backend_answers_this_machine_in_the_prometheus_format(backend: Backend) -> None:
    status, content_type, text = await backend.metrics()
    assert status == 200 and content_type.startswith(CONTENT_TYPE)
    figures = samples(text)
    assert ("assistant_hub_notices_pending", ()) in figures
    assert ("assistant_hub_queue_consults", ()) in figures
    assert value(text, "assistant_database_size_bytes", database="backend.db") > 0
    assert value(text, "assistant_backup_age_seconds") == float("inf")  # no backup yet: the alert fires


async def test_a_caller_elsewhere_needs_the_metrics_token(backend: Backend) -> None:
    token = backend.settings.metrics_token
    assert (await backend.metrics(PROXIED))[0] == 403
    assert (await backend.metrics({**PROXIED, "Authorization": "Bearer not-the-token"}))[0] == 403
    # A worker's own backend token opens the API, not the figures.
    assert (await backend.metrics({**PROXIED, "Authorization": f"Bearer {backend.worker_token}"}))[0] == 403
    status, _, text = await backend.metrics({**PROXIED, "Authorization": f"Bearer {token}"})
    assert status == 200 and "assistant_hub_notices_pending" in text


async def test_bookings_and_saves_move_the_counters_once(backend: Backend) -> None:
    before = (await backend.metrics())[2]
    patient = f"P{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {backend.worker_token}", "Idempotency-Key": uuid.uuid4().hex}
    consult = {"patient_ref": patient, "specialty": "general_medicine", "urgency": "routine"}
    for _ in range(2):  # the second is a replay of the first: nothing new was booked
        response = await backend.client.post("/consults", json=consult, headers=headers)
        assert response.status == 201, await response.text()
        assert (await response.json())["status"] == "scheduled"
    encounter = {"patient_ref": patient, "complaint": "fever", "age": 30, "sex": "female"}
    auth = {"Authorization": f"Bearer {backend.worker_token}"}
    assert (await backend.client.post("/encounters", json=encounter, headers=auth)).status == 201

    after = (await backend.metrics())[2]
    booked = "assistant_consults_total"
    assert value(after, booked, outcome="booked") - value(before, booked, outcome="booked") == 1
    saved = "assistant_encounters_saved_total"
    assert value(after, saved, channel="api") - value(before, saved, channel="api") == 1
    assert_no_identifier_in_labels(after, "W001", patient)


async def test_backup_age_reads_the_newest_archive(backend: Backend) -> None:
    backups = backend.settings.data_dir / "backups"
    backups.mkdir()
    for hours in (30, 3):  # the age is read from the archive's name: when the backup began
        (backups / archive_name(now_utc() - dt.timedelta(hours=hours))).write_bytes(b"archive")
    age = value((await backend.metrics())[2], "assistant_backup_age_seconds")
    assert 3 * 3600 <= age < 3 * 3600 + 60


@dataclasses.dataclass
class Console:
    client: TestClient
    settings: Settings


async def _dead_letter(url: str, worker: str) -> None:
    state = ChannelState(url, identity_key="metrics-test-key")
    try:
        body = {"messaging_product": "whatsapp", "to": "+919800000001", "type": "text", "text": {"body": "hello"}}
        reply = OutgoingReply(
            "whatsapp", {"business_number_id": "1"}, body, state.identity_hash("+919800000001"), worker
        )
        await state.keep_dead_letter(reply, attempts=12, error="graph_131047", now=dt.datetime.now(dt.timezone.utc))
    finally:
        await state.close()


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    settings = with_metrics_token(Settings(data_dir=tmp_path))
    seeded(settings.database_url)
    db, tracker = Database.connect(settings.database_url), Database.connect(settings.tracker_database_url)
    client = TestClient(TestServer(console_app(settings, db, tracker)))
    await client.start_server()
    yield Console(client, settings)
    await client.close()


async def test_the_console_shows_dead_letters_to_this_machine_or_the_token_holder(console: Console) -> None:
    response = await console.client.get("/metrics")
    assert response.status == 200 and response.headers["Content-Type"].startswith(CONTENT_TYPE)
    assert value(await response.text(), "assistant_dead_letters", channel="whatsapp") == 0

    await _dead_letter(console.settings.channels_database_url, "W001")
    text = await (await console.client.get("/metrics")).text()
    assert value(text, "assistant_dead_letters", channel="whatsapp") == 1
    assert_no_identifier_in_labels(text, "W001", "+919800000001")

    # Not a sign-in page for a caller elsewhere: a refusal, unless the token comes along.
    refused = await console.client.get("/metrics", headers=PROXIED, allow_redirects=False)
    assert refused.status == 403
    token = {"Authorization": f"Bearer {console.settings.metrics_token}"}
    assert (await console.client.get("/metrics", headers={**PROXIED, **token})).status == 200


def test_only_loopback_callers_without_a_proxy_read_without_the_token() -> None:
    from assistant.core.metrics import may_read

    assert may_read("127.0.0.1", {}, "secret")
    assert may_read("::1", {}, "")
    assert may_read("::ffff:127.0.0.1", {}, "secret")
    assert not may_read("192.168.1.20", {}, "secret")
    assert not may_read("127.0.0.1", {"X-Forwarded-For": "10.0.0.9"}, "secret")
    assert not may_read("192.168.1.20", {"Authorization": "Bearer "}, "")  # no token set: nobody from elsewhere
    assert may_read("192.168.1.20", {"Authorization": "Bearer secret"}, "secret")


def test_labels_cannot_carry_what_a_caller_sent() -> None:
    from assistant.core.metrics import action_label, channel_label

    assert channel_label("rest") == "rest" and channel_label("W001") == "other" and channel_label(None) == "other"
    assert action_label("action_book_consult") == "action_book_consult"
    assert action_label("patient 4521") == "other" and action_label("W001") == "other"
