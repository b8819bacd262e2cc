"""One message from a messaging app (WhatsApp Cloud or Twilio) into Rasa, exactly once.

1. Claim the message id (``state``): a redelivered webhook stops here.
2. Find the worker behind the sender (``identities``); a stranger gets a
   polite refusal and nothing else: no conversation, no data.
3. Turn the message into text: typed text (a bare number picks one of the
   numbered choices last shown), a chosen button's payload, or a voice note
   transcribed like speech.
4. Run the turn in Rasa as the worker (``turns``), with the contract's
   metadata, and hand the bot's messages to the channel's replies.
5. Mark the message done. If anything failed before Rasa had it, the claim
   is released so the app's redelivery is processed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from assistant.channels import channel_texts
from assistant.channels.identities import Directory, Sender
from assistant.channels.media import MediaRefused, MediaTooLarge
from assistant.channels.metadata import user_metadata
from assistant.channels.numbered_choices import pick
from assistant.channels.state import ChannelState, Expected
from assistant.channels.turns import OnNewMessage, run_turn
from assistant.channels.voice_notes import VoiceNoteTranscriber
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

    async def handle(self, incoming: Incoming, out: Replies, on_new_message: OnNewMessage) -> bool:
        """Process one message; ``False`` when it was a duplicate. Raises when it should be redelivered."""
        claim = await self.state.claim(self.namespace, incoming.message_id)
        if not claim.is_new:
            log.info(
                "%s message %s already %s: not processed again",
                self.namespace,
                _short(incoming.message_id),
                claim.outcome.replace("_", " "),
            )
            return False
        try:
            async with self.state.holding(self.namespace, incoming.message_id):
                await self._process(incoming, out, on_new_message)
        except BaseException:
            await self.state.release(self.namespace, incoming.message_id)
            raise
        await self.state.finish(self.namespace, incoming.message_id)
        return True

    async def _process(self, incoming: Incoming, out: Replies, on_new_message: OnNewMessage) -> None:
        if incoming.kind == IGNORED:
            return
        worker = await self.directory.worker_for(incoming.sender)
        if worker is None:
            log.info("%s message %s from an unregistered sender: refused", self.namespace, _short(incoming.message_id))
            await out.deliver(None, [{"text": channel_texts.UNKNOWN_SENDER}])
            return
        worker_id = worker["id"]
        expected = await self.state.take_expected(self.namespace, worker_id)
        if incoming.kind == UNSUPPORTED:
            await out.deliver(worker_id, [{"text": channel_texts.UNSUPPORTED}])
            return
        said: list[Message] = []
        text, metadata = incoming.text, None
        if incoming.kind == TEXT:
            text = pick(text, list(expected.payloads)) or text
        elif incoming.kind == AUDIO:
            heard = await self._transcribe(incoming, expected)
            said.append({"text": heard[0]})
            if heard[1] is None:
                await out.deliver(worker_id, said)
                return
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
        await out.deliver(worker_id, said)

    async def _transcribe(self, incoming: Incoming, expected: Expected) -> tuple[str, tuple[str, Message] | None]:
        """What to tell the worker first, and the (text, metadata) to run, or None when nothing was heard."""
        assert incoming.fetch_audio is not None
        # Dictation while a free-text field is asked for, as in the voice loop (docs/contracts.md).
        mode = expected.mode
        try:
            transcript = await self.transcriber.transcribe(await incoming.fetch_audio(), mode)
        except MediaTooLarge as exc:
            log.info("voice note %s refused: %s", _short(incoming.message_id), exc)
            return channel_texts.VOICE_TOO_LARGE, None
        except MediaRefused as exc:  # a signed webhook naming a foreign host: worth an operator's look
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


def _short(message_id: str) -> str:
    """Enough of a message id to find it in Meta's logs, without filling ours."""
    return message_id[-12:]
