"""A message tried again after its first try was cut off: run again only if it never ran."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from assistant.channels import state as state_module
from assistant.channels.replay import answer_on_record
from assistant.channels.state import ChannelState
from assistant.core.config import PROJECT_DIR


async def test_a_claim_given_up_or_left_by_a_dead_process_is_a_retry(tmp_path: Path) -> None:
    state = ChannelState(f"sqlite:///{tmp_path / 'channels.db'}", "identity-key-for-tests")
    try:
        assert (await state.claim("web", "W001:m1")).outcome == "new"
        assert (await state.claim("web", "W001:m1")).outcome == "in_flight"
        await state.release("web", "W001:m1")  # the try failed (or was cancelled)
        retry = await state.claim("web", "W001:m1")
        assert retry.outcome == "retry" and retry.is_new
        assert (await state.claim("web", "W001:m1")).outcome == "in_flight"  # the retry holds it now
        await state.finish("web", "W001:m1", [{"text": "Step 2 of 6"}])
        done = await state.claim("web", "W001:m1")
        assert (done.outcome, done.response, done.is_new) == ("done", [{"text": "Step 2 of 6"}], False)
    finally:
        await state.close()


@pytest.mark.slow
async def test_a_claim_is_kept_while_its_turn_runs_and_taken_over_soon_after_its_process_dies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(state_module, "CLAIM_LEASE", dt.timedelta(seconds=0.6))
    monkeypatch.setattr(state_module, "CLAIM_RENEWAL", dt.timedelta(seconds=0.1))
    state = ChannelState(f"sqlite:///{tmp_path / 'channels.db'}", "identity-key-for-tests")
    try:
        assert (await state.claim("web", "W001:slow")).outcome == "new"
        async with state.holding("web", "W001:slow"):  # a turn that outlasts the lease, still running
            await asyncio.sleep(1.5)
            assert (await state.claim("web", "W001:slow")).outcome == "in_flight"

        assert (await state.claim("web", "W001:cut")).outcome == "new"  # its process is killed: no renewals
        assert (await state.claim("web", "W001:cut")).outcome == "in_flight"
        await asyncio.sleep(1.0)
        assert (await state.claim("web", "W001:cut")).outcome == "retry"
    finally:
        await state.close()


async def test_a_message_the_conversation_holds_is_answered_from_it() -> None:
    domain = Domain.load(str(PROJECT_DIR / "domain.yml"))
    store = InMemoryTrackerStore(domain)
    tracker = DialogueStateTracker.from_events(
        "W001",
        [
            ActionExecuted("action_listen"),
            UserUttered("show me the hand hygiene checklist", message_id="web-first"),
            BotUttered("Step 1 of 6: wet your hands."),
            ActionExecuted("action_listen"),
            UserUttered("next", message_id="web-second"),
            BotUttered("Step 2 of 6: apply soap.", data={"custom": {"input_mode": "command"}}),
            ActionExecuted("action_listen"),
        ],
        slots=domain.slots,
    )
    await store.save(tracker)

    assert await answer_on_record(store, "W001", "web-second") == [
        {"text": "Step 2 of 6: apply soap.", "custom": {"input_mode": "command"}}
    ]
    assert await answer_on_record(store, "W001", "web-first") == [{"text": "Step 1 of 6: wet your hands."}]
    assert await answer_on_record(store, "W001", "web-never-ran") is None
    assert await answer_on_record(store, "W999", "web-second") is None
