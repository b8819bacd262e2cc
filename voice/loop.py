"""The voice loop: listen, transcribe, normalise, converse with Rasa, speak.

One turn:

1. The segmenter finds an utterance; its audio streams into a recognition
   stream opened in the current mode (command grammar, or dictation when the
   dialogue is asking for a free-text slot). When the worker pauses, the
   stream may start decoding (``prepare``) while the segmenter waits to be
   sure the utterance is over.
2. A result below the confidence threshold is not acted on: the worker hears
   "Sorry, please say that again" instead.
3. Spoken numbers become digits (``assistant.core.spoken_numbers``), and the text
   goes to Rasa's REST channel as the worker, with metadata
   ``{channel: voice, asr_confidence, input_mode, language}``.
4. The bot's messages say what comes next (``NextInput``: dictation or a
   command, and the reply language); the replies are spoken, each starting
   as soon as its first sentence is synthesized (``voice.tts.SpokenReplies``).

While the assistant speaks, the microphone is ignored (the loop never hears
itself) except for barge-in: speech from the worker cuts the reply off and
becomes the next utterance.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import time
from collections.abc import Callable

import numpy as np

from assistant.core.dialogue import NextInput
from assistant.core.spoken_numbers import normalise_numbers
from voice.endpoint import (
    EndpointConfig,
    Endpointer,
    Event,
    Segmenter,
    SpeechAudio,
    SpeechEnd,
    SpeechPause,
    SpeechStart,
)
from voice.engine import Engine, Mode, RecognitionStream, Transcript, transcribe
from voice.errors import VoiceError
from voice.playback import Playback, Sink
from voice.rasa_client import RasaClient, spoken_text
from voice.resample import StreamConverter
from voice.sources import AudioSource
from voice.tones import tone
from voice.tts import SpokenReplies, Synthesizer, language_of_text

log = logging.getLogger(__name__)

SORRY = {
    "en": "Sorry, please say that again.",
    "hi": "माफ़ कीजिए, कृपया फिर से बोलिए।",
}
# When Rasa itself cannot be reached, the worker still hears something, and
# the loop goes on listening: the next turn may reach it again.
UNREACHABLE = {
    "en": "Sorry, the assistant is not answering just now. Please say it again in a moment.",
    "hi": "माफ़ कीजिए, अभी सहायक जवाब नहीं दे रहा। थोड़ी देर में फिर से बोलिए।",
}

# Barge-in must be surer than ordinary endpointing: a quarter second of
# clearly louder sound, so headset bleed or a cough does not cut a reply off.
BARGE_IN = EndpointConfig(min_speech_ms=250, margin_db=18.0)


@dataclasses.dataclass
class Turn:
    transcript: Transcript
    mode: Mode
    sent: str | None  # what went to Rasa (after number normalisation); None when rejected
    replies: list[str]  # what the assistant said
    reply_language: str
    speech_end: float  # time.monotonic() when the endpointer closed the utterance
    heard: float | None = None  # when the transcript was final
    answered: float | None = None  # when the replies were known (Rasa answered, or the loop chose its own)
    first_audio: float | None = None  # when the first reply audio started
    interrupted: bool = False  # the worker barged in on the reply

    @property
    def rejected(self) -> bool:
        return self.sent is None

    @property
    def response_seconds(self) -> float | None:
        return None if self.first_audio is None else self.first_audio - self.speech_end

    def stage_seconds(self) -> dict[str, float]:
        """Where the response time went: what was left of recognition, the dialogue turn, speech out."""
        stages = {
            "recognition": (self.speech_end, self.heard),
            "dialogue": (self.heard, self.answered),
            "speech_out": (self.answered, self.first_audio),
        }
        return {stage: end - start for stage, (start, end) in stages.items() if start is not None and end is not None}


class VoiceLoop:
    def __init__(
        self,
        engine: Engine,
        rasa: RasaClient,
        synthesizer: Synthesizer,
        sink: Sink,
        worker_id: str,
        min_confidence: float | None = None,
        endpoint: EndpointConfig | None = None,
        barge_in: bool = True,
        on_turn: Callable[[Turn], None] | None = None,
    ) -> None:
        self.engine = engine
        self.rasa = rasa
        self.synthesizer = synthesizer
        self.sink = sink
        self.worker_id = worker_id
        self.min_confidence = min_confidence or engine.min_confidence
        self.endpoint = endpoint or EndpointConfig()
        self.barge_in = barge_in
        self.on_turn = on_turn
        self.mode: Mode = "command"
        self.reply_language = engine.language if engine.language in SORRY else "en"
        self._stream: RecognitionStream | None = None

    # -- the loop --------------------------------------------------------

    async def run(self, source: AudioSource, segmenter: Segmenter | None = None) -> list[Turn]:
        """Converse until the source runs out (a file) or the task is cancelled (a microphone)."""
        converter = StreamConverter(self.engine.sample_rate)
        segmenter = segmenter or Endpointer(self.engine.sample_rate, self.endpoint)
        turns: list[Turn] = []
        await asyncio.to_thread(self.warm_up)
        await self._tone("listening", source)
        try:
            while not source.exhausted:
                block = await asyncio.to_thread(source.read, 0.2)
                if block is not None:
                    await self._handle(segmenter.push(converter.convert(block)), source, segmenter, converter, turns)
            await self._handle(segmenter.flush(), source, segmenter, converter, turns)
        finally:
            await self._tone("stop", source)
        return turns

    def warm_up(self) -> None:
        """A recognizer's first decode and the speech engine's start are slow (allocation,
        kernel choice, espeak-ng's voices): pay for them before the worker's first word."""
        transcribe(self.engine, np.zeros(self.engine.sample_rate // 2, dtype=np.int16), self.mode)
        self.synthesizer.voice_for(self.reply_language)

    async def _handle(
        self,
        events: list[Event],
        source: AudioSource,
        segmenter: Segmenter,
        converter: StreamConverter,
        turns: list[Turn],
    ) -> None:
        for event in events:
            if isinstance(event, SpeechStart):
                self._stream = self.engine.open_stream(self.mode)
            elif isinstance(event, SpeechAudio) and self._stream is not None:
                self._stream.accept(event.samples)
            elif isinstance(event, SpeechPause) and self._stream is not None:
                self._stream.prepare()
            elif isinstance(event, SpeechEnd) and self._stream is not None:
                speech_end = time.monotonic()
                stream, self._stream = self._stream, None
                transcript = await asyncio.to_thread(stream.final)
                turn, carry = await self.converse(transcript, speech_end, source, converter)
                turns.append(turn)
                if self.on_turn is not None:
                    self.on_turn(turn)
                if carry is not None:  # the worker barged in: that speech is the next utterance
                    await self._handle(segmenter.push(carry), source, segmenter, converter, turns)

    # -- one turn --------------------------------------------------------

    def acceptable(self, transcript: Transcript) -> bool:
        return bool(transcript.text.strip()) and transcript.confidence >= self.min_confidence

    async def converse(
        self,
        transcript: Transcript,
        speech_end: float,
        source: AudioSource | None = None,
        converter: StreamConverter | None = None,
    ) -> tuple[Turn, np.ndarray | None]:
        mode = self.mode
        heard = time.monotonic()
        if not self.acceptable(transcript):
            log.info("low-confidence recognition (%.2f): asking again", transcript.confidence)
            turn = Turn(transcript, mode, None, [SORRY[self.reply_language]], self.reply_language, speech_end, heard)
        else:
            text = normalise_numbers(transcript.text)
            metadata = {
                "channel": "voice",
                "asr_confidence": round(transcript.confidence, 3),
                "input_mode": mode,
                "language": self.engine.language,
            }
            try:
                replies = await self.rasa.send(self.worker_id, text, metadata)
            except VoiceError as exc:
                log.warning("no answer from Rasa: %s", exc)
                spoken = [UNREACHABLE[self.reply_language]]
            else:
                self._follow_dialogue(replies)
                spoken = [line for line in (spoken_text(reply) for reply in replies) if line]
            turn = Turn(transcript, mode, text, spoken, self.reply_language, speech_end, heard)
        turn.answered = time.monotonic()
        carry = await self._speak(turn, source, converter)
        return turn, carry

    def _follow_dialogue(self, replies: list[dict]) -> None:
        expects = NextInput.of(replies)
        self.mode = expects.mode
        if expects.language in SORRY:
            self.reply_language = expects.language

    # -- speech out ------------------------------------------------------

    async def _speak(
        self, turn: Turn, source: AudioSource | None, converter: StreamConverter | None
    ) -> np.ndarray | None:
        """Speak the turn's replies; returns barge-in audio when the worker interrupted."""
        languages = [language_of_text(text, turn.reply_language) for text in turn.replies]
        with SpokenReplies(self.synthesizer, list(zip(turn.replies, languages, strict=True))) as spoken:
            for index, language in enumerate(languages):
                parts = spoken.reply(index)
                first = await asyncio.to_thread(next, parts, None)  # the reply's first sentence
                if first is None:
                    continue
                audio = itertools.chain([first.audio], (speech.audio for speech in parts))
                playback = Playback(self.sink, audio, f"reply-{language}").start()
                if turn.first_audio is None:
                    turn.first_audio = time.monotonic()
                carry = await self._watch(playback, source, converter)
                if carry is not None:
                    turn.interrupted = True
                    return carry
        if source is not None and source.live:
            await self._tone("listening", source)
            source.drain()  # whatever the mic caught while we spoke is our own voice
        return None

    async def _watch(
        self, playback: Playback, source: AudioSource | None, converter: StreamConverter | None
    ) -> np.ndarray | None:
        """Wait for playback; with a live source, listen for barge-in meanwhile."""
        if not (self.barge_in and source is not None and source.live and converter is not None):
            await asyncio.to_thread(playback.wait)
            return None
        detector = Endpointer(self.engine.sample_rate, BARGE_IN)
        heard: list[np.ndarray] = []
        while playback.playing:
            block = await asyncio.to_thread(source.read, 0.05)
            if block is None:
                continue
            events = detector.push(converter.convert(block))
            heard.extend(event.samples for event in events if isinstance(event, SpeechAudio))
            if any(isinstance(event, SpeechStart) for event in events):
                playback.stop()
                await asyncio.to_thread(playback.wait)
                await self._tone("stop", source)
                return np.concatenate(heard)
        await asyncio.to_thread(playback.wait)
        return None

    async def _tone(self, kind: str, source: AudioSource | None) -> None:
        """Earcons only make sense on a live headset, not in WAV output."""
        if self.sink.realtime and source is not None and source.live:
            await asyncio.to_thread(Playback(self.sink, tone(kind), kind).start().wait)
