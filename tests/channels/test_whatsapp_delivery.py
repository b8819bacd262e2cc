"""WhatsApp replies that cannot go out at once: they wait per worker, back off, and end as dead letters.

Real parts: the channel state on a SQLite file, the Graph client over HTTP to
``fake_graph`` (Meta's side, on a local port). Time is the test's clock, so
backoff is checked without sleeping.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from assistant.channels.state import ChannelState
from assistant.channels.whatsapp.delivery import Delivery
from assistant.channels.whatsapp.graph import GraphClient, RetryPolicy
from assistant.channels.whatsapp.outbound import Recipient, text_bodies
from assistant.core.retry import MAX_OUTBOUND_ATTEMPTS, OUTBOUND_BACKOFF
from tests.support.fake_graph import FakeGraphApi

TOKEN = "delivery-test-token"
NUMBER_ID = "1234500000"
START = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.timezone.utc)
# Longer than any backoff delay (and jitter only shortens them): after it, a waiting reply is due.
PAST_ANY_DELAY = dt.timedelta(seconds=OUTBOUND_BACKOFF.cap + 1)
_phones = itertools.count(919800000001)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, delta: dt.timedelta) -> None:
        self.now += delta


@pytest.fixture(scope="module")
def graph() -> Iterator[FakeGraphApi]:
    server = FakeGraphApi(TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def state_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'channels.db'}"


@pytest.fixture
async def state(state_url: str) -> AsyncIterator[ChannelState]:
    channel_state = ChannelState(state_url, identity_key="delivery-test-key")
    yield channel_state
    await channel_state.close()


@pytest.fixture
async def client(graph: FakeGraphApi) -> AsyncIterator[GraphClient]:
    # One try per send: the quick in-call retries are graph.with_retries' business, tested through the stack.
    graph_client = GraphClient(graph.url, "v21.0", TOKEN, RetryPolicy(attempts=1))
    yield graph_client
    await graph_client.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def delivery(client: GraphClient, state: ChannelState, clock: Clock) -> Delivery:
    return Delivery(client, state, now=clock)


def phone() -> str:
    return str(next(_phones))


def reply(to: str, words: str) -> dict[str, Any]:
    [body] = text_bodies(Recipient(phone=to), words)
    return body


def texts_to(graph: FakeGraphApi, to: str) -> list[str]:
    return [message.text for message in graph.messages_to(to)]


def rows(url: str) -> list[dict[str, Any]]:
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            found = connection.execute(text("SELECT * FROM undelivered_replies ORDER BY id")).mappings().all()
    finally:
        engine.dispose()
    return [dict(row) for row in found]


async def test_a_reply_failing_every_attempt_becomes_a_dead_letter_and_the_workers_later_replies_go_out(
    graph: FakeGraphApi, delivery: Delivery, clock: Clock, state_url: str
) -> None:
    worker = phone()
    graph.fail_for(worker, MAX_OUTBOUND_ATTEMPTS)  # every attempt the first reply gets
    await delivery.send(NUMBER_ID, "W001", [reply(worker, "first, for patient 5511")])
    await delivery.send(NUMBER_ID, "W001", [reply(worker, "second")])  # waits behind the first, untried
    assert graph.attempts_to[worker] == 1 and texts_to(graph, worker) == []
    for _ in range(2 * MAX_OUTBOUND_ATTEMPTS):
        if rows(state_url)[0]["status"] != "waiting":
            break
        clock.advance(PAST_ANY_DELAY)
        await delivery.flush()
    # The first was tried MAX_OUTBOUND_ATTEMPTS times in all, then given up; the second went at once after.
    assert graph.attempts_to[worker] == MAX_OUTBOUND_ATTEMPTS + 1
    assert texts_to(graph, worker) == ["second"]
    await delivery.send(NUMBER_ID, "W001", [reply(worker, "third"), reply(worker, "fourth")])
    assert texts_to(graph, worker) == ["second", "third", "fourth"]
    [dead] = rows(state_url)
    assert dead["status"] == "dead" and dead["worker_id"] == "W001"
    assert dead["attempts"] == MAX_OUTBOUND_ATTEMPTS and dead["last_error"] == "graph_131000"
    assert dead["dead_at"] is not None and dead["last_attempt_at"] is not None
    # A dead letter is never sent: it keeps neither the number nor the words.
    assert worker not in str(dead) and "5511" not in str(dead)


async def test_a_worker_whose_replies_fail_does_not_hold_up_another_worker(
    graph: FakeGraphApi, delivery: Delivery, clock: Clock
) -> None:
    stuck, other = phone(), phone()
    graph.fail_for(stuck, 1000)
    await delivery.send(NUMBER_ID, "W001", [reply(stuck, "waiting")])
    await delivery.send(NUMBER_ID, "W002", [reply(other, "one"), reply(other, "two")])
    clock.advance(PAST_ANY_DELAY)
    await delivery.flush()
    await delivery.send(NUMBER_ID, "W002", [reply(other, "three")])
    assert texts_to(graph, other) == ["one", "two", "three"]
    assert texts_to(graph, stuck) == []
    graph.fail_for(stuck, 0)
    clock.advance(PAST_ANY_DELAY)
    assert await delivery.flush() == 1
    assert texts_to(graph, stuck) == ["waiting"]


async def test_a_reply_meta_refuses_for_good_is_a_dead_letter_at_once_and_holds_nothing_up(
    graph: FakeGraphApi, delivery: Delivery, state_url: str
) -> None:
    worker = phone()
    graph.fail_for(worker, 1, status=400, code=131047)  # outside the 24-hour window
    await delivery.send(NUMBER_ID, "W003", [reply(worker, "refused"), reply(worker, "after it")])
    assert texts_to(graph, worker) == ["after it"]
    [dead] = rows(state_url)
    assert (dead["status"], dead["attempts"], dead["last_error"], dead["worker_id"]) == (
        "dead",
        1,
        "graph_131047",
        "W003",
    )
    assert worker not in str(dead) and "refused" not in str(dead)


async def test_a_waiting_reply_is_not_tried_before_its_backoff_or_metas_retry_after(
    graph: FakeGraphApi, delivery: Delivery, clock: Clock
) -> None:
    worker = phone()
    graph.fail_for(worker, 2)
    await delivery.send(NUMBER_ID, "W001", [reply(worker, "hello")])
    # The first wait is OUTBOUND_BACKOFF.base, jittered down to no less than half of it.
    clock.advance(dt.timedelta(seconds=OUTBOUND_BACKOFF.base * 0.4))
    await delivery.flush()
    assert graph.attempts_to[worker] == 1
    clock.advance(dt.timedelta(seconds=OUTBOUND_BACKOFF.base * 0.7))
    await delivery.flush()
    assert graph.attempts_to[worker] == 2  # due, tried, failed again: now it waits twice as long
    clock.advance(dt.timedelta(seconds=OUTBOUND_BACKOFF.base * 0.9))
    await delivery.flush()
    assert graph.attempts_to[worker] == 2
    clock.advance(dt.timedelta(seconds=OUTBOUND_BACKOFF.base * 1.2))
    await delivery.flush()
    assert texts_to(graph, worker) == ["hello"]

    # Meta says when: its Retry-After wins over a shorter backoff.
    patient = phone()
    graph.fail_for(patient, 1, status=429, code=130429, retry_after=300)
    await delivery.send(NUMBER_ID, "W002", [reply(patient, "later")])
    clock.advance(dt.timedelta(seconds=OUTBOUND_BACKOFF.base * 2))
    await delivery.flush()
    assert texts_to(graph, patient) == []
    clock.advance(dt.timedelta(seconds=300))
    await delivery.flush()
    assert texts_to(graph, patient) == ["later"]


async def test_two_servers_flushing_at_once_send_each_waiting_reply_once(
    graph: FakeGraphApi, client: GraphClient, state: ChannelState, state_url: str, clock: Clock
) -> None:
    import asyncio

    workers = [phone() for _ in range(5)]
    for worker in workers:
        graph.fail_for(worker, 1)
        await Delivery(client, state, now=clock).send(NUMBER_ID, "W001", [reply(worker, f"to {worker}")])
    twin = ChannelState(state_url, identity_key="delivery-test-key")
    try:
        clock.advance(PAST_ANY_DELAY)
        await asyncio.gather(Delivery(client, state, now=clock).flush(), Delivery(client, twin, now=clock).flush())
    finally:
        await twin.close()
    for worker in workers:
        assert texts_to(graph, worker) == [f"to {worker}"]
    assert rows(state_url) == []


async def test_replies_kept_by_the_previous_version_are_upgraded_and_delivered(
    graph: FakeGraphApi, client: GraphClient, tmp_path: Path, clock: Clock
) -> None:
    import json

    url = f"sqlite:///{tmp_path / 'old-channels.db'}"
    worker = phone()
    engine = create_engine(url, future=True)
    with engine.begin() as connection:
        # The table as the first version made it: one queue per channel, no status, no recipient.
        connection.execute(
            text(
                "CREATE TABLE undelivered_replies (id INTEGER PRIMARY KEY, channel VARCHAR(32) NOT NULL, "
                "route JSON NOT NULL, payload JSON NOT NULL, created_at DATETIME NOT NULL, attempts INTEGER NOT NULL)"
            )
        )
        connection.execute(
            text("INSERT INTO undelivered_replies VALUES (1, 'whatsapp', :route, :payload, '2025-03-01 08:00:00', 3)"),
            {"route": json.dumps({"business_number_id": NUMBER_ID}), "payload": json.dumps(reply(worker, "kept"))},
        )
    engine.dispose()
    state = ChannelState(url, identity_key="delivery-test-key")
    try:
        assert await Delivery(client, state, now=clock).flush() == 1
    finally:
        await state.close()
    assert texts_to(graph, worker) == ["kept"]
    engine = create_engine(url, future=True)
    with engine.connect() as connection:
        indexes = {row[1] for row in connection.execute(text("PRAGMA index_list(undelivered_replies)"))}
    engine.dispose()
    assert "ix_undelivered_replies_waiting" in indexes  # made along with the columns it uses


async def test_the_purge_drops_dead_letters_past_their_retention_and_keeps_the_rest(
    graph: FakeGraphApi, client: GraphClient, state: ChannelState, state_url: str, clock: Clock
) -> None:
    from assistant.core.rules import DEAD_LETTER_RETENTION

    old, recent, waiting = phone(), phone(), phone()
    graph.fail_for(old, 1, status=400, code=131047)
    graph.fail_for(recent, 1, status=400, code=131047)
    graph.fail_for(waiting, 1000)
    await Delivery(client, state, now=clock).send(NUMBER_ID, "W001", [reply(old, "old")])
    clock.advance(dt.timedelta(days=2))
    await Delivery(client, state, now=clock).send(NUMBER_ID, "W002", [reply(recent, "recent")])
    await Delivery(client, state, now=clock).send(NUMBER_ID, "W003", [reply(waiting, "waiting")])

    await state.purge(now=START + DEAD_LETTER_RETENTION + dt.timedelta(days=1))
    assert [(row["worker_id"], row["status"]) for row in rows(state_url)] == [("W002", "dead"), ("W003", "waiting")]
