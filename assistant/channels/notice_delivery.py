"""Hub notices (the backend's worker outbox) told in the worker's conversation, exactly once, on every channel.

When the hub schedules, moves, cancels, completes or misses a consult, the
backend keeps a notice for the worker who asked it (``GET /notices``,
docs/contracts.md). A channel tells one by appending it to the worker's Rasa
tracker as a bot message with ``custom.hub_notice = {"id", "consult_id",
"event"}``, and then marking it delivered at the backend:

- under the conversation lock (Rasa's lock store, the lock every turn holds,
  shared by all Rasa servers through Redis), and only if no event of the
  conversation, in any session, carries that id yet. A crash or a failed
  mark between the append and the mark therefore never tells it twice: the
  next try finds it on record and only marks it;
- in the worker's language (the tracker's ``language`` slot, else English).

Who tells what: the start of every turn, on any channel, tells the worker's
pending notices first, ahead of the turn's own reply: that is where the
worker is now (``announcing``). Between turns the web page polls for the
notices of consults asked for in the web chat, and WhatsApp and Twilio push
theirs (``whatsapp.push``). The delivered mark names the channel that told it.

A turn spends one ``GET /notices`` on this, cut off after
``TURN_FETCH_SECONDS`` so a slow hub does not hold the turn up, and none
for ``TURN_BACKOFF_SECONDS`` after one failed (an offline clinic would
otherwise pay the wait on every turn), unless the backend has answered
another call since (a sign-in, a token check): then the hub is back, and so
are the notices. It reads the tracker only when something is pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import BotUttered, Event, UserUttered
from sanic import Blueprint

from assistant.channels.turns import OnNewMessage
from assistant.core.vocabulary import LANGUAGES
from assistant.http.backend_client import BackendClient, BackendError

log = logging.getLogger(__name__)

NOTICE_KEY = "hub_notice"  # in a bot message's custom payload
LANGUAGE_SLOT = "language"
TURN_FETCH_SECONDS = 1.5
TURN_BACKOFF_SECONDS = 30.0

Message = dict[str, Any]


class NoConversation(Exception):
    """The Rasa agent is not ready (no model loaded yet): nothing can be told now."""


@dataclass(frozen=True)
class Notice:
    id: int
    consult_id: int | None  # None: a reminder of a task the worker added themselves (event task_due)
    worker_id: str
    event: str
    channel: str  # the consult's channel: where the worker asked for it
    texts: Mapping[str, str]  # language -> text
    phone: str | None = None  # the worker's number, for a push

    @classmethod
    def of(cls, item: Any) -> Notice | None:
        """A notice as ``GET /notices`` lists it; ``None`` when it lacks what telling it needs."""
        try:
            texts = {str(language): str(text) for language, text in item["text"].items() if text}
            notice = cls(
                id=int(item["id"]),
                consult_id=None if item.get("consult_id") is None else int(item["consult_id"]),
                worker_id=str(item["worker_id"]),
                event=str(item["event"]),
                channel=str(item.get("channel") or ""),
                texts=texts,
                phone=str(item["phone"]) if item.get("phone") else None,
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return None
        return notice if notice.texts else None

    def text(self, language: str) -> str:
        return self.texts.get(language) or self.texts.get("en") or next(iter(self.texts.values()))

    def message(self, language: str) -> Message:
        """The bot message that tells it, as a channel's turn returns it and the transcript keeps it."""
        about = {"id": self.id, "consult_id": self.consult_id, "event": self.event}
        return {"text": self.text(language), "custom": {NOTICE_KEY: about}}


def told_notice(event: Event) -> int | None:
    """The id of the hub notice a tracker event tells, if it tells one."""
    if not isinstance(event, BotUttered):
        return None
    custom = (event.data or {}).get("custom")
    about = custom.get(NOTICE_KEY) if isinstance(custom, dict) else None
    try:
        return int(about["id"]) if isinstance(about, dict) else None
    except (KeyError, TypeError, ValueError):
        return None


@dataclass
class Conversation:
    """A worker's conversation, read under its lock: what it has told, and the current session to add to."""

    tracker: Any  # Rasa's DialogueStateTracker of the current session (Rasa ships no types)
    history: list[Event]  # every event of every session
    told: set[int] = field(init=False)
    added: list[Message] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.told = {found for found in map(told_notice, self.history) if found is not None}

    @property
    def language(self) -> str:
        language = self.tracker.get_slot(LANGUAGE_SLOT)
        return language if language in LANGUAGES else "en"

    def has(self, notice: Notice) -> bool:
        return notice.id in self.told

    def tell(self, notice: Notice) -> Message:
        """Append the notice's bot message unless the conversation already has it; the message either way."""
        message = notice.message(self.language)
        if notice.id not in self.told:
            self.tracker.update(BotUttered(message["text"], data={"custom": message["custom"]}))
            self.told.add(notice.id)
            self.added.append(message)
        return message

    def last_message_from(self, input_channels: Collection[str]) -> UserUttered | None:
        """The worker's latest message that came in through one of ``input_channels`` (Rasa's input channel names)."""
        for event in reversed(self.history):
            if isinstance(event, UserUttered) and event.input_channel in input_channels:
                return event
        return None


@contextlib.asynccontextmanager
async def conversation(agent: Any, worker_id: str) -> AsyncIterator[Conversation]:
    """Hold the worker's conversation lock; what was told in it is saved when the block ends."""
    if agent is None or getattr(agent, "processor", None) is None:
        raise NoConversation("the Rasa agent has no model loaded yet")
    async with agent.lock_store.lock(worker_id):
        # A first conversation starts its session as Rasa's own first turn would.
        tracker = await agent.processor.fetch_tracker_with_initial_session(worker_id)
        # The current session is where new events go; the full history is what was ever told.
        everything = await agent.tracker_store.retrieve_full_tracker(worker_id)
        talk = Conversation(tracker, list((everything or tracker).events))
        yield talk
        if talk.added:
            await agent.processor.save_tracker(tracker)


@dataclass(frozen=True)
class Told:
    new: list[Message]  # appended to the conversation by this call
    all: list[Message]  # every notice asked about, told now or before


class NoticeDesk:
    """The worker outbox through the shared backend client: what is pending, told, and marked delivered."""

    def __init__(self, backend: BackendClient) -> None:
        self.backend = backend
        self._turns_skip_until = 0.0
        self._answers_at_failure = 0

    async def pending(
        self, *, worker_id: str | None = None, channels: Iterable[str] | None = None, budget: float | None = None
    ) -> list[Notice]:
        """Pending notices, oldest first; none when the backend cannot say now (they wait for the next try)."""
        try:
            return await self._fetch(worker_id, channels, budget)
        except (BackendError, asyncio.TimeoutError) as exc:
            log.info("hub notices not read now (%s): they wait", exc.__class__.__name__)
            return []

    async def _fetch(self, worker_id: str | None, channels: Iterable[str] | None, budget: float | None) -> list[Notice]:
        call = self.backend.pending_notices(worker_id=worker_id, channels=tuple(channels) if channels else None)
        items = await (asyncio.wait_for(call, budget) if budget else call)
        notices = [found for found in map(Notice.of, items) if found is not None]
        # A notice is only ever told in its own worker's conversation, whatever the answer held.
        return [notice for notice in notices if worker_id is None or notice.worker_id == worker_id]

    async def tell(self, agent: Any, worker_id: str, notices: list[Notice], via: str) -> Told:
        async with conversation(agent, worker_id) as talk:
            said = [talk.tell(notice) for notice in notices]
        await self.mark_delivered(notices, via)
        return Told(talk.added, said)

    async def mark_delivered(self, notices: Iterable[Notice], via: str) -> None:
        for notice in notices:
            try:
                await self.backend.notice_delivered(notice.id, via)
            except BackendError as exc:
                # On record in the conversation already: the next try finds it there and only marks it.
                log.warning(
                    "hub notice %d told to worker %s, not yet marked delivered (%s)",
                    notice.id,
                    notice.worker_id,
                    exc.__class__.__name__,
                )

    async def before_turn(self, agent: Any, worker_id: str, via: str) -> list[Message]:
        """Tell the worker's pending notices (from any channel) at the start of their turn; what to say first."""
        if time.monotonic() < self._turns_skip_until and self.backend.answers == self._answers_at_failure:
            return []  # the hub failed a moment ago, and has answered nothing since: the notices wait
        try:
            notices = await self._fetch(worker_id, None, TURN_FETCH_SECONDS)
        except (BackendError, asyncio.TimeoutError) as exc:
            self._turns_skip_until = time.monotonic() + TURN_BACKOFF_SECONDS
            self._answers_at_failure = self.backend.answers
            log.info(
                "hub notices not read (%s): turns skip them for %.0f s", exc.__class__.__name__, TURN_BACKOFF_SECONDS
            )
            return []
        if not notices:
            return []
        try:
            return (await self.tell(agent, worker_id, notices, via)).new
        except Exception:  # the turn itself must be answered whatever happens here
            log.exception("hub notices for worker %s not told before the turn", worker_id)
            return []


async def _say(output: OutputChannel, recipient_id: str, message: Message) -> None:
    if isinstance(output, CollectingOutputChannel):
        # One message with its custom payload, as the transcript has it: the web page knows it by its id.
        output.messages.append({"recipient_id": recipient_id, **message})
    else:
        await output.send_response(recipient_id, message)


def announcing(
    on_new_message: OnNewMessage,
    desk: NoticeDesk,
    agent: Callable[[], Any],
    via: str | Callable[[UserMessage], str],
) -> OnNewMessage:
    """``on_new_message`` that first tells the worker's pending notices, ahead of the turn's own reply."""

    async def handle(message: UserMessage) -> Any:
        channel = via(message) if callable(via) else via
        for said in await desk.before_turn(agent(), message.sender_id, channel):
            await _say(message.output_channel, message.sender_id, said)
        return await on_new_message(message)

    return handle


class AppAgent:
    """The Rasa agent of the app a blueprint runs in (``app.ctx.agent``), for code that has no request at hand."""

    def __init__(self) -> None:
        self._app: Any = None

    def bind(self, blueprint: Blueprint) -> None:
        @blueprint.listener("before_server_start")
        async def remember(app: Any, _: Any) -> None:
            self._app = app

    def __call__(self) -> Any:
        return getattr(self._app.ctx, "agent", None) if self._app is not None else None
