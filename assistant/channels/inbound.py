"""One message from a messaging app (WhatsApp Cloud or Twilio) into Rasa, exactly once.

1. Claim the message id (``state``, ``once``): a redelivered webhook stops
   here, with the stored replies of the first delivery's turn, waited for
   while that turn still runs; past the channel's wait it is ``IN_PROGRESS``.
2. Find the worker behind the sender (``identities``); a stranger gets a
   polite refusal and nothing else: no conversation, no data.
3. A claim taken over from a delivery that died (``retry``) whose turn Rasa
   had already saved is answered from the conversation (``replay``), not run.
4. Turn the message into text: typed text (a bare number picks one of the
   numbered choices last shown), a chosen button's payload, or a voice note
   transcribed like speech (its fetch tried ``MEDIA_FETCH_ATTEMPTS`` times
   with ``MEDIA_BACKOFF``, then the worker is told in words).
5. Run the turn in Rasa as the worker (``turns``), with the contract's
   metadata, and hand the bot's messages to the channel's replies; it runs
   to its end even if the app hangs up meanwhile (``once.run_to_the_end``).
6. Mark the message done, with what the worker was told. If anything failed
   before Rasa had it, the claim is released so the app's redelivery is processed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from rasa.core.tracker_store import TrackerStore

from assistant.channels import channel_texts
from assistant.channels.identities import Directory, Sender
from assistant.channels.media import MediaRefused, MediaTooLarge, MediaUnavailable, fetch_with_retries
from assistant.channels.metadata import user_metadata
from assistant.channels.numbered_choices import pick
from assistant.channels.once import IN_PROGRESS, RAN, REPLAYED, Answer, run_to_the_end
from assistant.channels.replay import answer_on_record
from assistant.channels.state import ChannelState, Expected
from assistant.channels.turns import OnNewMessage, run_turn
from assistant.channels.voice_notes import VoiceNoteTranscriber
from assistant.core.rules import REDELIVERY_WAITS
from voice.errors import AudioFormatError, VoiceError

log = logging.getLogger(__name__)

TEXT, CHOICE, AUDIO, UNSUPPORTED, IGNORED = "text", "choice", "audio", "unsupported", "ignored"

Message = dict[str, Any]


class Replies(Protocol):
    """How a channel gets messages to the worker (``worker_id`` is None for a stranger).

    It also remembers what the worker's next message answers (``ChannelState.expect``).
    """

    async def deliver(self, worker_id: str | None, messages: list[Message]) -> None: ...


@dataclass(frozen=True)
class Incoming:
    message_id: str
    sender: Sender
    kind: str  # TEXT, CHOICE, AUDIO, UNSUPPORTED or IGNORED
    text: str = ""  # typed text, or the chosen payload
    fetch_audio: Callable[[], Awaitable[bytes]] | None = None


class MessagingInbound:
    def __init__(
        self,
        dedupe_namespace: str,
        directory: Directory,
        state: ChannelState,
        transcriber: VoiceNoteTranscriber,
        metadata_channel: str = "whatsapp",
    ) -> None:
        self.namespace = dedupe_namespace
        self.directory = directory
        self.state = state
        self.transcriber = transcriber
        self.metadata_channel = metadata_channel

    async def handle(
        self, incoming: Incoming, out: Replies, on_new_message: OnNewMessage, tracker_store: TrackerStore
    ) -> Answer:
        """Process one message, or answer it from an earlier delivery; raises when it should be redelivered."""
        claim = await self.state.settled(self.namespace, incoming.message_id, REDELIVERY_WAITS[self.namespace])
        if claim.outcome == "done":
            log.info("%s message %s already answered: not processed again", self.namespace, _short(incoming.message_id))
            return Answer(REPLAYED, list(claim.response or []), claim.answered)
        if claim.outcome == "in_flight":
            log.info("%s message %s still being answered", self.namespace, _short(incoming.message_id))
            return Answer(IN_PROGRESS, [])
        retry = claim.outcome == "retry"

        async def turn() -> list[Message]:
            return await self._process(incoming, out, on_new_message, tracker_store if retry else None)

        return Answer(RAN, await run_to_the_end(self.state, self.namespace, incoming.message_id, turn))

    async def _process(
        self, incoming: Incoming, out: Replies, on_new_message: OnNewMessage, records: TrackerStore | None
    ) -> list[Message]:
        """What the worker was told. ``records``: a taken-over claim's conversation, to find a turn already run."""
        if incoming.kind == IGNORED:
            return []
        worker = await self.directory.worker_for(incoming.sender)
        if worker is None:
            log.info("%s message %s from an unregistered sender: refused", self.namespace, _short(incoming.message_id))
            return await _told(out, None, [{"text": channel_texts.UNKNOWN_SENDER}])
        worker_id = worker["id"]
        if records is not None:
            earlier = await answer_on_record(records, worker_id, incoming.message_id)
            if earlier is not None:  # its first delivery ran it and died before marking it done
                return await _told(out, worker_id, earlier)
        expected = await self.state.take_expected(self.namespace, worker_id)
        if incoming.kind == UNSUPPORTED:
            return await _told(out, worker_id, [{"text": channel_texts.UNSUPPORTED}])
        said: list[Message] = []
        text, metadata = incoming.text, None
        if incoming.kind == TEXT:
            text = pick(text, list(expected.payloads)) or text
        elif incoming.kind == AUDIO:
            heard = await self._transcribe(incoming, expected)
            said.append({"text": heard[0]})
            if heard[1] is None:
                return await _told(out, worker_id, said)
            text, metadata = heard[1]
        metadata = metadata or user_metadata(self.metadata_channel, text)
        said += await run_turn(
            on_new_message,
            channel=self.metadata_channel,
            worker_id=worker_id,
            text=text,
            metadata=metadata,
            message_id=incoming.message_id,
        )
        return await _told(out, worker_id, said)

    async def _transcribe(self, incoming: Incoming, expected: Expected) -> tuple[str, tuple[str, Message] | None]:
        """What to tell the worker first, and the (text, metadata) to run, or None when nothing was heard."""
        assert incoming.fetch_audio is not None
        # Dictation while a free-text field is asked for, as in the voice loop (docs/contracts.md).
        mode = expected.mode
        try:
            transcript = await self.transcriber.transcribe(await fetch_with_retries(incoming.fetch_audio), mode)
        except MediaTooLarge as exc:
            log.info("voice note %s refused: %s", _short(incoming.message_id), exc)
            return channel_texts.VOICE_TOO_LARGE, None
        except MediaRefused as exc:  # a signed webhook naming a foreign host: worth an operator's look
            log.warning("voice note %s not fetched: %s", _short(incoming.message_id), exc)
            return channel_texts.VOICE_NOT_FETCHED, None
        except MediaUnavailable as exc:  # the app did not hand it over, try after try: told once, not redelivered
            log.warning("voice note %s not fetched: %s", _short(incoming.message_id), exc)
            return channel_texts.VOICE_NOT_FETCHED, None
        except AudioFormatError as exc:
            log.info("voice note %s unreadable: %s", _short(incoming.message_id), exc)
            return channel_texts.VOICE_UNREADABLE, None
        except VoiceError as exc:
            log.error("voice notes cannot be transcribed: %s", exc)
            return channel_texts.VOICE_UNAVAILABLE, None
        if not transcript.text.strip():
            return channel_texts.VOICE_EMPTY, None
        metadata = user_metadata(
            self.metadata_channel,
            transcript.text,
            asr_confidence=transcript.confidence,
            input_mode=mode,
            language=self.transcriber.language,
        )
        # The worker sees what was heard, so a mis-hearing is caught before it is acted on.
        return channel_texts.heard(transcript.text), (transcript.text, metadata)


async def _told(out: Replies, worker_id: str | None, messages: list[Message]) -> list[Message]:
    await out.deliver(worker_id, messages)
    return messages


def _short(message_id: str) -> str:
    """Enough of a message id to find it in Meta's logs, without filling ours."""
    return message_id[-12:]
