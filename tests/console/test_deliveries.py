"""The Deliveries page of the real console: rejected records, WhatsApp and Twilio dead letters, in scope, audited.

The outbox is a real ``actions.db`` made by the action server's own schema
code; the dead letters are written by the real channel state.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert, text

from assistant.channels.state import ChannelState, OutgoingReply
from assistant.console.deliveries import rejected_records
from assistant.db.device import FILENAME, open_engine, outbox_table
from tests.console.conftest import PASSWORD, World, build_world, console_over
from tests.support.console import ConsoleClient, RunningConsole

PHONE = "919812340001"
NOW = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)  # the outbox stores naive UTC
# patient ref -> (worker, kind, status, minutes ago)
OUTBOX = {
    "5150": ("W001", "consult", "rejected", 50),
    "5153": ("W003", "encounter", "rejected", 10),
    "5151": ("W001", "encounter", "pending", 5),
    "6160": ("W002", "encounter", "rejected", 20),
}


def _write_outbox(data_dir: Path) -> None:
    engine = open_engine(data_dir)
    with engine.begin() as connection:
        for ref, (worker, kind, status, minutes) in OUTBOX.items():
            at = NOW - dt.timedelta(minutes=minutes)
            connection.execute(
                insert(outbox_table).values(
                    kind=kind,
                    idempotency_key=f"key-{ref}",
                    worker_id=worker,
                    payload=json.dumps({"patient_ref": ref, "complaint": "fever"}),
                    status=status,
                    attempts=2,
                    last_error="invalid_age" if status == "rejected" else None,
                    created_at=at - dt.timedelta(hours=1),
                    updated_at=at,
                )
            )
    engine.dispose()


async def _write_dead_letters(url: str) -> None:
    state = ChannelState(url, identity_key="console-test-key")
    now = dt.datetime.now(dt.timezone.utc)
    try:
        for worker, code in (("W001", "graph_131047"), ("W002", "graph_131026"), (None, "graph_131000")):
            body = {
                "messaging_product": "whatsapp",
                "to": PHONE,
                "type": "text",
                "text": {"body": "patient 5152 words"},
            }
            reply = OutgoingReply("whatsapp", {"business_number_id": "1"}, body, state.identity_hash(PHONE), worker)
            await state.keep_dead_letter(reply, attempts=12, error=code, now=now)
        # A hub notice pushed through Twilio's Messages API that Twilio refused (63016: outside the window).
        form = {"To": f"whatsapp:+{PHONE}", "From": "whatsapp:+14155238886", "Body": "patient 5152 words"}
        reply = OutgoingReply(
            "twilio", {"business_number_id": "+14155238886"}, form, state.identity_hash(PHONE), "W003"
        )
        await state.keep_dead_letter(reply, attempts=1, error="twilio_63016", now=now)
    finally:
        await state.close()


@pytest.fixture(scope="module")
def deliveries_world(
    tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path
) -> Iterator[tuple[World, RunningConsole]]:
    root = tmp_path_factory.mktemp("deliveries")
    data_dir = root / "data"
    _write_outbox(data_dir)
    channels_url = f"sqlite:///{data_dir / 'channels.db'}"
    asyncio.run(_write_dead_letters(channels_url))
    env = {"ASSISTANT_DATA_DIR": str(data_dir), "ASSISTANT_CHANNELS_DB_URL": channels_url}
    with console_over(build_world(root), artifacts_dir, env=env) as running:
        yield running


def _signed_in(console: RunningConsole, user: str) -> ConsoleClient:
    client = console.client()
    assert client.login(user, PASSWORD).status_code == 303
    return client


def _sections(page: str) -> tuple[str, str]:
    rejected = page.split('id="rejected-records"', 1)[1].split("</table>", 1)[0]
    dead = page.split('id="dead-letters"', 1)[1].split("</table>", 1)[0]
    return rejected, dead


def test_a_supervisor_sees_their_facilities_rejected_records_and_dead_letters_only(
    deliveries_world: tuple[World, RunningConsole],
) -> None:
    _, console = deliveries_world
    block = _signed_in(console, "S002")  # chc-pindwara: W001 (hwc-ajari under it) and W003
    page = block.get("/deliveries")
    assert page.status_code == 200
    rejected, dead = _sections(page.text)
    # Newest first; the pending record and Abu Road's (W002) are not there.
    assert [ref for ref in OUTBOX if ref in rejected] == ["5150", "5153"]
    assert rejected.index("5153") < rejected.index("5150")
    assert "invalid_age" in rejected and "W002" not in rejected
    letters = dead.split('class="dead-letter"')[1:]
    assert len(letters) == 2  # W001's WhatsApp one and W003's Twilio one, side by side
    assert [("WhatsApp" in row, "Twilio" in row) for row in letters] == [(False, True), (True, False)]
    assert "W001" in letters[1] and "graph_131047" in letters[1]
    assert "W003" in letters[0] and "twilio_63016" in letters[0]
    assert "W002" not in dead and "unregistered sender" not in dead
    # A dead letter shows no number and no words.
    assert PHONE not in page.text and "5152" not in page.text


def test_an_admin_sees_every_one(deliveries_world: tuple[World, RunningConsole]) -> None:
    _, console = deliveries_world
    rejected, dead = _sections(_signed_in(console, "A001").get("/deliveries").text)
    assert [ref for ref in OUTBOX if ref in rejected] == ["5150", "5153", "6160"]  # not the pending 5151
    assert dead.count('class="dead-letter"') == 4 and "unregistered sender" in dead


def test_a_field_worker_cannot_open_it(deliveries_world: tuple[World, RunningConsole]) -> None:
    world, console = deliveries_world
    client = _signed_in(console, "S900")
    world.demote("S900")  # now a field worker: the session no longer opens anything
    response = client.get("/deliveries")
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")
    assert not any(ref in response.text for ref in OUTBOX)
    assert console.client().login("S900", PASSWORD).status_code != 303


def test_viewing_it_is_audited(deliveries_world: tuple[World, RunningConsole]) -> None:
    world, console = deliveries_world
    _signed_in(console, "S001").get("/deliveries")
    with world.backend.connect() as connection:
        entries = connection.execute(
            text("SELECT role, target FROM console_audit WHERE actor = 'S001' AND action = 'view_deliveries'")
        ).all()
    assert entries and entries[-1].role == "supervisor"
    assert not any(ref in (entries[-1].target or "") for ref in OUTBOX)


async def test_no_outbox_file_or_table_is_an_empty_list_and_nothing_is_created(tmp_path: Path) -> None:
    assert await rejected_records(tmp_path, None) == []
    assert not (tmp_path / FILENAME).exists()
    (tmp_path / FILENAME).write_bytes(b"")  # a file the action server has not given a schema yet
    assert await rejected_records(tmp_path, None) == []
    assert (tmp_path / FILENAME).stat().st_size == 0
