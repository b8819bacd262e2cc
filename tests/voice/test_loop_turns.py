"""One turn of the voice loop with stand-ins for the recognizer, Rasa and the voice, so
what it does with them can be seen exactly: when the stream may decode, and how
each reply reaches the sink (first sentence first, all of it, in order, once)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tests.voice.conftest import RealTimeRecorder, burst
from voice.audio import Audio, concatenate, silence
from voice.engine import Mode, Transcript, Word
from voice.loop import VoiceLoop
from voice.playback import NullSink
from voice.resample import StreamConverter
from voice.sources import FileSource
from voice.tts import Speech, Synthesizer, speech_parts

RATE = 16000
REPLIES = [
    {"text": "Hand hygiene, 10 steps. Source: WHO, 2009."},
    {"text": "Step 1 of 10: wet your hands. Use clean water. Take 98.6 seconds.", "buttons": [{"title": "Next"}]},
    {"text": "Say next."},
]


class Rasa:
    """Answers every message with ``replies`` and keeps what it was sent."""

    def __init__(self, replies: list[dict[str, Any]]) -> None:
        self.replies = replies
        self.sent: list[str] = []

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        self.sent.append(text)
        return self.replies


class Voice:
    """Synthesizes each text as a clip of its own, distinct samples; logs what it was given."""

    def __init__(self, before: Callable[[str], None] = lambda text: None) -> None:
        self.said: list[str] = []
        self.clips: dict[str, Audio] = {}
        self._before = before

    def voice_for(self, language: str) -> str:
        return "test"

    def synthesize(self, text: str, language: str | None = None) -> Speech:
        self._before(text)
        self.said.append(text)
        clip = Audio.from_mono(np.full(800 + 40 * len(text), len(self.said), dtype=np.int16), 22050)
        self.clips[text] = clip
        return Speech(text, language or "en", "test", clip)


class Recorder:
    """A sink that keeps every clip it is given, as the blocks it was written in."""

    name = "recorder"
    realtime = False

    def __init__(self) -> None:
        self.clips: list[tuple[str, list[Audio]]] = []
        self.first_block = threading.Event()

    def begin(self, audio: Audio, label: str) -> None:
        self.clips.append((label, []))

    def write(self, block: Audio) -> None:
        self.clips[-1][1].append(block)
        self.first_block.set()

    def end(self) -> None:
        pass


def heard(text: str) -> Transcript:
    return Transcript(text, words=tuple(Word(word, 0.0, 0.1, 0.9) for word in text.split()), score=0.9)


def loop(rasa: Rasa, voice: Any, sink: Any, engine: Any = None) -> VoiceLoop:
    return VoiceLoop(engine or Engine(), rasa, voice, sink, "W001")


async def test_every_reply_is_spoken_whole_in_order_and_once() -> None:
    voice, sink = Voice(), Recorder()
    turn, carry = await loop(Rasa(REPLIES), voice, sink).converse(heard("show me the checklist"), time.monotonic())

    assert carry is None and not turn.interrupted
    assert turn.replies == [
        "Hand hygiene, 10 steps. Source: WHO, 2009.",
        "Step 1 of 10: wet your hands. Use clean water. Take 98.6 seconds. Next.",
        "Say next.",
    ]
    # Each text was synthesized once, in the order spoken, and the parts make up the reply.
    assert voice.said == [part for reply in turn.replies for part in speech_parts(reply)]
    assert voice.said[:2] == ["Hand hygiene, 10 steps.", "Source: WHO, 2009."]
    # One clip per reply, holding exactly its parts' audio, in order.
    assert [label for label, _ in sink.clips] == ["reply-en"] * 3
    for reply, (_, written) in zip(turn.replies, sink.clips, strict=True):
        expected = np.concatenate([voice.clips[part].samples for part in speech_parts(reply)])
        assert np.array_equal(np.concatenate([block.samples for block in written]), expected)


async def test_a_reply_plays_before_the_rest_of_it_is_synthesized() -> None:
    sink = Recorder()
    late: list[str] = []

    def wait_for_playback(text: str) -> None:
        """Only the first sentence may be synthesized before the worker hears anything."""
        if voice.said and not sink.first_block.wait(timeout=10):
            late.append(text)

    voice = Voice(before=wait_for_playback)
    turn, _ = await loop(Rasa(REPLIES[1:2]), voice, sink).converse(heard("next"), time.monotonic())
    assert voice.said[0] == "Step 1 of 10: wet your hands."
    assert not late, f"synthesized before any audio was played: {late}"
    assert turn.first_audio is not None and turn.answered is not None and turn.first_audio >= turn.answered


async def test_the_stages_account_for_the_whole_response() -> None:
    turn, _ = await loop(Rasa(REPLIES), Voice(), NullSink()).converse(heard("next"), time.monotonic())
    stages = turn.stage_seconds()
    assert list(stages) == ["recognition", "dialogue", "speech_out"]
    assert all(seconds >= 0 for seconds in stages.values())
    assert sum(stages.values()) == pytest.approx(turn.response_seconds)


@pytest.mark.slow
async def test_a_barge_in_stops_the_reply_and_the_replies_after_it(
    english_speech: Callable[[str], Audio],
) -> None:
    """The worker says "stop" a second into the first of two long replies: the rest is not spoken."""
    worker = english_speech("stop")
    mic = FileSource(concatenate([silence(1.0, worker.rate), worker, silence(1.0, worker.rate)]), paced=True)
    step = "Step 4 of 6: interlace your fingers. Rub the backs of your hands for twenty seconds, then rinse them."
    recorder = RealTimeRecorder()
    synthesizer = Synthesizer()
    whole_reply = synthesizer.synthesize(step, "en").audio.duration
    voice_loop = loop(Rasa([{"text": step}, {"text": step}]), synthesizer, recorder)
    turn, carry = await voice_loop.converse(heard("next"), time.monotonic(), mic, StreamConverter(RATE))

    assert turn.interrupted and carry is not None and len(carry) / RATE > 0.25
    # Played until the worker spoke, and cut inside the first reply (how soon is bench/voice's to say).
    assert 1.0 < recorder.seconds < whole_reply
    assert recorder.begun == ["reply-en", "stop"]  # the stop earcon, and never the second reply


class Stream:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def accept(self, samples: np.ndarray) -> str | None:
        self.log.append("accept")
        return None

    def prepare(self) -> None:
        self.log.append("prepare")

    def final(self) -> Transcript:
        self.log.append("final")
        return heard("next")


class Engine:
    """Hears "next" in every utterance; keeps what each stream it opened was asked to do."""

    name, language, sample_rate, min_confidence = "stand-in", "en", RATE, 0.5

    def __init__(self) -> None:
        self.streams: list[list[str]] = []

    def open_stream(self, mode: Mode = "command", alternatives: int = 0, detailed: bool = False) -> Stream:
        self.streams.append([])
        return Stream(self.streams[-1])

    def knows_word(self, word: str) -> bool:
        return True


async def test_the_stream_may_decode_at_the_pause_with_all_the_audio_it_will_get() -> None:
    engine, rasa = Engine(), Rasa([{"text": "Step 2 of 10."}])
    recording = concatenate([silence(0.5, RATE), burst(0.6), silence(1.5, RATE)])
    turns = await loop(rasa, Voice(), NullSink(), engine).run(FileSource(recording))

    assert rasa.sent == ["next"] and len(turns) == 1  # the warm-up is never a turn
    warm_up, utterance = engine.streams
    assert warm_up[-1] == "final"
    assert utterance[-2:] == ["prepare", "final"] and set(utterance[:-2]) == {"accept"}
