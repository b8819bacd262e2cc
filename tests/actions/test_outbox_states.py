"""The outbox at the moments that used to lose or duplicate records, against the real backend.

A real HTTP hop (``GatedProxy``) in front of the backend lands each case at
its exact moment: a cancel while the delivery is on its way, an answer lost
after the backend booked, a token that the backend refuses.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, update

from actions import sync
from actions.consult import ActionBookConsult, ActionCancelConsult
from actions.context import Turn
from actions.outbox import deliver_pending
from actions.services import Services
from assistant.core.retry import OUTBOX_BACKOFF, Backoff, worth_retrying
from assistant.db.device import FILENAME
from assistant.db.device import outbox_table as outbox
from assistant.rasa_server.outbox_notices import RejectedRecords, notice_text
from tests.actions.test_consults import confirmed_consult, consult_rows, patient, run
from tests.support.backend import RunningBackend
from tests.support.gated_proxy import GatedProxy
from tests.support.processes import assistant_cli
from tests.support.trackers import new_session, tracker, user_message


@pytest.fixture
async def proxy(sqlite_backend: RunningBackend) -> AsyncIterator[GatedProxy]:
    hop = await GatedProxy(sqlite_backend.url).start()
    yield hop
    await hop.stop()


async def book(session: float, patient_id: str, sender: str = "W001") -> str:
    """The worker's "yes"; returns the idempotency key of the booking."""
    conversation = confirmed_consult(patient_id, sender=sender, session=session)
    await run(ActionBookConsult(), conversation)
    return Turn.of(conversation).idempotency_key("consult")


async def cancel(key: str, patient_id: str, sender: str = "W001") -> str:
    chosen = {"id": None, "key": key, "specialty": "cardiology", "patient_id": patient_id}
    conversation = tracker(
        user_message("yes", "affirm"), {"consult_to_cancel": chosen, "confirmed": True}, sender=sender
    )
    (reply,), _ = await run(ActionCancelConsult(), conversation)
    return reply


def time_passes(data_dir: Path) -> None:
    """Every backoff is over (the rows' own wait, not the test's)."""
    engine = create_engine(f"sqlite:///{data_dir / FILENAME}", future=True)
    with engine.begin() as connection:
        connection.execute(update(outbox).values(next_attempt_at=None))
    engine.dispose()


async def test_a_cancel_that_meets_the_delivery_is_carried_out_at_the_hub(
    offline: Services, make_services: Callable[..., Services], sqlite_backend: RunningBackend, proxy: GatedProxy
) -> None:
    patient_id = patient()
    key = await book(new_session(), patient_id)
    proxy.mode = "hold"
    parts = make_services(proxy.url, sqlite_backend.token("service"), data_dir=offline.settings.data_dir)
    delivery = asyncio.create_task(deliver_pending(parts.outbox, parts.backend))
    await asyncio.wait_for(proxy.arrived.wait(), 10)  # the POST is at the hub's door

    reply = await cancel(key, patient_id)
    assert reply.startswith("Cancelled") and "as soon as it can be reached" in reply
    proxy.release()
    assert await asyncio.wait_for(delivery, 30) == 1

    assert [row["status"] for row in consult_rows(sqlite_backend, patient_id)] == ["cancelled"]
    queued = await parts.outbox.get(key)
    assert queued is not None and queued.status == "cancelled"
    assert await parts.outbox.pending() == []


async def test_a_request_that_may_have_reached_the_hub_is_cancelled_there_too(
    make_services: Callable[..., Services], sqlite_backend: RunningBackend, proxy: GatedProxy
) -> None:
    proxy.mode = "swallow"  # the backend books; the answer is lost on the way back
    parts = make_services(proxy.url, sqlite_backend.token("service"))
    patient_id = patient()
    key = await book(new_session(), patient_id)
    assert [row["status"] for row in consult_rows(sqlite_backend, patient_id)] == ["scheduled"]
    (queued,) = await parts.outbox.pending()
    assert queued.key == key  # the worker was told it is saved on the phone

    # Withdrawing it here alone would leave the hub's booking standing.
    assert "as soon as it can be reached" in await cancel(key, patient_id)
    back = make_services(sqlite_backend.url, sqlite_backend.token("service"), data_dir=parts.settings.data_dir)
    time_passes(back.settings.data_dir)
    await deliver_pending(back.outbox, back.backend)
    assert [row["status"] for row in consult_rows(sqlite_backend, patient_id)] == ["cancelled"]


async def test_a_request_that_never_left_is_withdrawn_here(
    offline: Services, make_services: Callable[..., Services], sqlite_backend: RunningBackend
) -> None:
    patient_id = patient()
    key = await book(new_session(), patient_id)  # connection refused: it certainly never arrived
    assert await cancel(key, patient_id) == "Cancelled the cardiology consult for patient " + patient_id + "."
    back = make_services(sqlite_backend.url, sqlite_backend.token("service"), data_dir=offline.settings.data_dir)
    assert await deliver_pending(back.outbox, back.backend) == 0
    assert consult_rows(sqlite_backend, patient_id) == []


async def test_a_refused_token_keeps_every_record_queued_and_the_right_one_delivers_each_once(
    make_services: Callable[..., Services], sqlite_backend: RunningBackend
) -> None:
    rotated = make_services(sqlite_backend.url, "fa_" + "x" * 43)  # a token the backend does not know
    patients = [patient() for _ in range(3)]
    for patient_id in patients:
        await book(new_session(), patient_id)  # 401 at once: not a rejection of the record
    data_dir = rotated.settings.data_dir
    assert len(await rotated.outbox.pending()) == 3

    time_passes(data_dir)
    assert await deliver_pending(rotated.outbox, rotated.backend) == 0
    waiting = await rotated.outbox.pending()
    assert [item.status for item in waiting] == ["pending"] * 3  # none rejected
    first, *rest = waiting
    assert first.attempts == 1 and (await rotated.outbox.due()) == rest  # it waits out its backoff
    assert [item.attempts for item in rest] == [0, 0]  # the round stopped at the hub's first "not now"

    fixed = make_services(sqlite_backend.url, sqlite_backend.token("service"), data_dir=data_dir)
    time_passes(data_dir)
    assert await deliver_pending(fixed.outbox, fixed.backend) == 3
    assert [len(consult_rows(sqlite_backend, patient_id)) for patient_id in patients] == [1, 1, 1]


async def test_a_new_service_token_replays_what_the_old_one_sent(
    make_services: Callable[..., Services], sqlite_backend: RunningBackend, proxy: GatedProxy
) -> None:
    proxy.mode = "swallow"
    old = make_services(proxy.url, sqlite_backend.token("service"))
    patient_id = patient()
    await book(new_session(), patient_id)  # booked at the hub, answer lost: queued
    new_token = assistant_cli("token", "create", "--db", sqlite_backend.db_url, "--role", "service").strip()
    rotated = make_services(sqlite_backend.url, new_token, data_dir=old.settings.data_dir)
    time_passes(rotated.settings.data_dir)
    assert await deliver_pending(rotated.outbox, rotated.backend) == 1
    assert len(consult_rows(sqlite_backend, patient_id)) == 1  # a replay, not a second booking


async def test_a_record_cut_off_mid_send_goes_again_after_a_restart(
    offline: Services, make_services: Callable[..., Services], sqlite_backend: RunningBackend
) -> None:
    patient_id = patient()
    key = await book(new_session(), patient_id)
    assert await offline.outbox.claim(key)  # "sending" ... and the process dies
    restarted = make_services(sqlite_backend.url, sqlite_backend.token("service"), data_dir=offline.settings.data_dir)
    assert await deliver_pending(restarted.outbox, restarted.backend) == 0  # nothing due while "sending"
    assert await restarted.outbox.recover() == 1
    assert await deliver_pending(restarted.outbox, restarted.backend) == 1
    assert len(consult_rows(sqlite_backend, patient_id)) == 1


async def test_a_cancel_after_a_crash_mid_send_goes_through_the_hub(
    offline: Services, make_services: Callable[..., Services], sqlite_backend: RunningBackend, proxy: GatedProxy
) -> None:
    patient_id = patient()
    key = await book(new_session(), patient_id)  # refused: it certainly never left
    proxy.mode = "late"  # the hub books at once; its answer is slow
    parts = make_services(proxy.url, sqlite_backend.token("service"), data_dir=offline.settings.data_dir)
    delivery = asyncio.create_task(deliver_pending(parts.outbox, parts.backend))
    deadline = time.monotonic() + 10
    while not consult_rows(sqlite_backend, patient_id) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert [row["status"] for row in consult_rows(sqlite_backend, patient_id)] == ["scheduled"]
    delivery.cancel()  # the action server dies before the answer: the row stays "sending"
    await asyncio.gather(delivery, return_exceptions=True)

    restarted = make_services(sqlite_backend.url, sqlite_backend.token("service"), data_dir=offline.settings.data_dir)
    assert await restarted.outbox.recover() == 1
    assert "as soon as it can be reached" in await cancel(key, patient_id)  # not withdrawn here alone
    time_passes(restarted.settings.data_dir)
    await deliver_pending(restarted.outbox, restarted.backend)
    assert [row["status"] for row in consult_rows(sqlite_backend, patient_id)] == ["cancelled"]


async def test_only_the_record_the_hub_refuses_is_rejected_and_its_worker_is_told_once(
    offline: Services, make_services: Callable[..., Services], sqlite_backend: RunningBackend
) -> None:
    good, bad = patient(), patient()
    await book(new_session(), good)
    # Queued by an older version that still took this specialty.
    body = {"patient_ref": bad, "specialty": "astrology", "urgency": "routine", "reason": "x", "channel": "voice"}
    await offline.outbox.enqueue("consult", f"consult-old-{bad}", "W001", body)
    await book(new_session(), patient())

    back = make_services(sqlite_backend.url, sqlite_backend.token("service"), data_dir=offline.settings.data_dir)
    assert await deliver_pending(back.outbox, back.backend) == 2
    rejected = await back.outbox.get(f"consult-old-{bad}")
    assert rejected is not None and rejected.status == "rejected"
    assert len(consult_rows(sqlite_backend, good)) == 1

    records = RejectedRecords(offline.settings.data_dir)
    (told,) = records.take("W001")
    assert records.take("W001") == []  # once
    english, hindi = notice_text(told, "en"), notice_text(told, "hi")
    assert english == (
        f"The astrology consult request for patient {bad} could not be sent: the hub did not accept the specialty. "
        "Please request it again, or ask your supervisor."
    )
    assert bad in hindi and "हब" in hindi


def test_rejected_records_say_nothing_before_the_action_server_made_its_file(tmp_path: Path) -> None:
    assert RejectedRecords(tmp_path).take("W001") == []
    assert not (tmp_path / FILENAME).exists()


@pytest.mark.parametrize(
    ("status", "code", "retry"),
    [
        (401, "unauthorized", True),
        (403, "forbidden", True),
        (403, "unknown_worker", False),
        (403, "inactive_worker", False),
        (408, "timeout", True),
        (409, "conflict", False),
        (422, "validation_error", False),
        (429, "too_many_requests", True),
        (500, "internal", True),
        (503, "unavailable", True),
        (404, "not_found", False),
    ],
)
def test_which_refusals_are_worth_retrying(status: int, code: str, retry: bool) -> None:
    assert worth_retrying(status, code) is retry


def test_backoff_grows_to_its_cap_with_jitter_below_it() -> None:
    rng = random.Random(7)
    backoff = Backoff(base=2.0, cap=30.0, jitter=0.5)
    for failed in range(1, 80):
        ceiling = min(30.0, 2.0 * 2 ** (failed - 1))
        delays = [backoff.delay(failed, rng) for _ in range(20)]
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(set(delays)) > 1  # jittered: clinics coming back do not knock in step
    assert OUTBOX_BACKOFF.delay(10_000, rng) <= OUTBOX_BACKOFF.cap


async def test_what_waits_goes_as_soon_as_the_hub_answers_again_not_when_its_backoff_ends(
    offline: Services, make_services: Callable[..., Services], sqlite_backend: RunningBackend, proxy: GatedProxy
) -> None:
    patient_id = patient()
    await book(new_session(), patient_id)  # queued: the hub could not be reached
    proxy.mode = "down"
    parts = make_services(proxy.url, sqlite_backend.token("service"), data_dir=offline.settings.data_dir)
    syncing = asyncio.create_task(sync.run_forever(pause=0.05, max_pause=0.05))
    try:
        await asyncio.wait_for(proxy.arrived.wait(), 10)  # a round tried, and the hub said 503
        await asyncio.sleep(0.3)
        engine = create_engine(f"sqlite:///{offline.settings.data_dir / FILENAME}", future=True)
        with engine.begin() as connection:  # the row's own backoff: an hour, longer than any test
            connection.execute(update(outbox).values(next_attempt_at=dt.datetime(2999, 1, 1)))
        engine.dispose()
        proxy.mode = "through"
        await asyncio.sleep(0.3)
        assert consult_rows(sqlite_backend, patient_id) == []  # nothing has told the outbox the hub is back

        assert await parts.backend.checklists("W001")  # a worker's turn reaches the hub: it answers
        deadline = time.monotonic() + 10
        while not consult_rows(sqlite_backend, patient_id) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert [row["status"] for row in consult_rows(sqlite_backend, patient_id)] == ["scheduled"]
    finally:
        syncing.cancel()
