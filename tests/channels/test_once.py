"""One message, one turn: a redelivery waits for the first delivery's turn and gets its replies, never a second run.

The real channel state on SQLite, the real ``Once`` gate; the turn is a
coroutine the test holds open, so each case lands while it runs. A claim
left by a killed process is made by a real second process, killed with SIGKILL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain

from assistant.channels.once import IN_PROGRESS, RAN, REPLAYED, Answer, Once
from assistant.channels.state import ChannelState
from assistant.core.config import PROJECT_DIR

REPLIES = [{"text": "Step 2 of 6: apply soap."}]
# A second process that claims a message and then sits in its turn until it is killed.
CLAIMER = """
import asyncio, sys
from assistant.channels.state import ChannelState

async def main() -> None:
    state = ChannelState(sys.argv[1], "identity-key-for-tests")
    print((await state.claim("web", "W001:killed")).outcome, flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


@pytest.fixture
async def state(tmp_path: Path) -> AsyncIterator[ChannelState]:
    channel_state = ChannelState(f"sqlite:///{tmp_path / 'channels.db'}", "identity-key-for-tests")
    yield channel_state
    await channel_state.close()


class HeldTurn:
    """A turn that runs until the test lets it end, counting how often it was started."""

    def __init__(self) -> None:
        self.started = 0
        self.running = asyncio.Event()
        self.may_end = asyncio.Event()

    async def __call__(self) -> list[dict[str, str]]:
        self.started += 1
        self.running.set()
        await self.may_end.wait()
        return REPLIES


def _deliver(once: Once, turn: Callable[[], Awaitable[list[dict[str, str]]]]) -> Awaitable[Answer]:
    return once.answer(
        "W001:m-0001",
        tracker_store=InMemoryTrackerStore(Domain.empty()),
        sender_id="W001",
        turn_id="web-m-0001",
        turn=turn,
    )


async def test_a_redelivery_while_the_turn_runs_waits_for_it_and_gets_its_replies(state: ChannelState) -> None:
    once, turn = Once(state, "web"), HeldTurn()
    first = asyncio.ensure_future(_deliver(once, turn))
    await turn.running.wait()
    again = asyncio.ensure_future(_deliver(once, turn))
    await asyncio.sleep(0.6)
    assert not again.done()  # it waits for the running turn, and runs nothing itself
    turn.may_end.set()
    assert (await first) == Answer(RAN, REPLIES)
    assert (await again).outcome == REPLAYED and (await again).messages == REPLIES
    assert (await _deliver(once, turn)).messages == REPLIES  # and any later one too
    assert turn.started == 1


async def test_a_turn_whose_caller_is_cut_off_runs_to_its_end_for_the_resend(state: ChannelState) -> None:
    once, turn = Once(state, "rest"), HeldTurn()
    cut = asyncio.ensure_future(_deliver(once, turn))
    await turn.running.wait()
    cut.cancel()  # the connection dropped: Sanic cancels the request's handler
    with pytest.raises(asyncio.CancelledError):
        await cut
    turn.may_end.set()
    resent = await _deliver(once, turn)
    assert (resent.outcome, resent.messages, turn.started) == (REPLAYED, REPLIES, 1)


async def test_past_the_wait_a_redelivery_is_told_it_is_still_being_answered(state: ChannelState) -> None:
    once, turn = Once(state, "web"), HeldTurn()
    once.wait = dt.timedelta(seconds=0.5)
    first = asyncio.ensure_future(_deliver(once, turn))
    await turn.running.wait()
    assert (await _deliver(once, turn)) == Answer(IN_PROGRESS, [])
    turn.may_end.set()
    await first
    assert turn.started == 1


async def test_a_failed_turn_is_run_again_by_the_redelivery(state: ChannelState) -> None:
    once, runs = Once(state, "web"), []

    async def failing() -> list[dict[str, str]]:
        runs.append("failed")
        raise RuntimeError("the action server fell over")

    with pytest.raises(RuntimeError):
        await _deliver(once, failing)

    async def working() -> list[dict[str, str]]:
        runs.append("ran")
        return REPLIES

    assert (await _deliver(once, working)) == Answer(RAN, REPLIES)
    assert runs == ["failed", "ran"]


async def test_a_claim_held_by_a_killed_process_is_taken_over_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'channels.db'}"
    claimer = subprocess.Popen(
        [sys.executable, "-c", CLAIMER, url],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)},
    )
    state = ChannelState(url, "identity-key-for-tests")
    try:
        assert claimer.stdout is not None and claimer.stdout.readline().strip() == "new"
        assert (await state.claim("web", "W001:killed")).outcome == "in_flight"  # its holder is alive
        os.kill(claimer.pid, signal.SIGKILL)
        await asyncio.sleep(0.2)  # not reaped yet: a zombie runs no more either
        # Long before the lease (15 s) runs out: its holder is provably gone.
        assert (await state.claim("web", "W001:killed")).outcome == "retry"
        assert (await state.claim("web", "W001:killed")).outcome == "in_flight"  # this process holds it now
    finally:
        claimer.kill()
        claimer.wait()
        await state.close()
