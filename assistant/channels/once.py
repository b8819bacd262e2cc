"""One message, one turn, on every channel: the first delivery runs it, any later one gets its replies.

Every inbound message has an id (REST's ``message_id``, the web page's,
WhatsApp's ``wamid``, Twilio's ``MessageSid``), claimed in the channel state
before the turn runs (``ChannelState.claim``); the claims are shared by
every Rasa server. A later delivery of the same id, on any server:

- finds it done: the stored replies of that turn, and nothing runs;
- finds its turn still running: waits for it (``ChannelState.settled``, up
  to the channel's ``REDELIVERY_WAITS``), then the same; past the wait it is
  answered "still working" (``IN_PROGRESS``), never with a second run;
- finds it given up, or left by a process that died: takes it over; if the
  conversation already holds the message (the process died after Rasa saved
  the turn: ``replay``), its replies are the answer, else the turn runs.

A turn, once started, runs to its end even when the request that started it
is cut off (``run_to_the_end``): the client's resend then gets its replies,
instead of a half-run turn being started again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rasa.core.tracker_store import TrackerStore

from assistant.channels.replay import answer_on_record
from assistant.channels.state import ChannelState
from assistant.core.rules import REDELIVERY_WAITS

log = logging.getLogger(__name__)

Message = dict[str, Any]
RAN, REPLAYED, IN_PROGRESS = "ran", "replayed", "in_progress"


@dataclass(frozen=True)
class Answer:
    outcome: str  # RAN, REPLAYED or IN_PROGRESS
    messages: list[Message]
    answered: bool = False  # REPLAYED: the first delivery's own exchange carried these back already


async def run_to_the_end(
    state: ChannelState, namespace: str, key: str, turn: Callable[[], Awaitable[list[Message]]]
) -> list[Message]:
    """Run ``turn`` under the claim on ``key``, then store its replies; a cut-off caller does not stop it.

    A turn that fails releases the claim, so that a redelivery runs it (or finds it on record).
    """

    async def whole() -> list[Message]:
        try:
            async with state.holding(namespace, key):
                messages = await turn()
        except BaseException:
            await state.release(namespace, key)
            raise
        await state.finish(namespace, key, messages)
        return messages

    task = asyncio.ensure_future(whole())
    task.add_done_callback(_retrieved)
    return await asyncio.shield(task)


def _retrieved(task: asyncio.Future[Any]) -> None:
    # A turn whose caller was cut off has nobody to raise to: its failure is noted here (the class only:
    # an exception's message may quote what the worker said). A caller still there gets it raised as well.
    if not task.cancelled() and task.exception() is not None:
        log.info("a turn ended in %s; its claim is released", task.exception().__class__.__name__)


class Once:
    """The claims of one channel (``namespace``): REST and the web chat, whose sender is known up front."""

    def __init__(self, state: ChannelState, namespace: str) -> None:
        self.state = state
        self.namespace = namespace
        self.wait = REDELIVERY_WAITS[namespace]

    async def answer(
        self,
        key: str,
        *,
        tracker_store: TrackerStore,
        sender_id: str,
        turn_id: str,
        turn: Callable[[], Awaitable[list[Message]]],
    ) -> Answer:
        """The replies to message ``key`` (Rasa's ``turn_id`` for it), running ``turn`` only if no delivery did."""
        claim = await self.state.settled(self.namespace, key, self.wait)
        if claim.outcome == "done":
            return Answer(REPLAYED, list(claim.response or []), claim.answered)
        if claim.outcome == "in_flight":
            log.info("%s message still being answered after %s: not run again", self.namespace, self.wait)
            return Answer(IN_PROGRESS, [])
        if claim.outcome == "retry":
            earlier = await answer_on_record(tracker_store, sender_id, turn_id)
            if earlier is not None:  # the cut-off try had run: answer it, do not run it again
                await self.state.finish(self.namespace, key, earlier)
                return Answer(REPLAYED, earlier)
        return Answer(RAN, await run_to_the_end(self.state, self.namespace, key, turn))
