"""Speech out: pyttsx3 voices by language, WAV output, interruptible playback and barge-in."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from assistant.core.config import PROJECT_DIR
from tests.voice.conftest import RealTimeRecorder
from voice.audio import Audio, concatenate, read_wav, silence
from voice.loop import VoiceLoop
from voice.playback import Playback, WavDirSink, sink_from_spec
from voice.rasa_client import RasaClient
from voice.sources import FileSource
from voice.tones import tone
from voice.tts import DEFAULT_RATE, Synthesizer, language_of_text, speech_parts

HINDI_REPLY = "मरीज़ का विवरण सहेज लिया गया है।"


@pytest.fixture(scope="module")
def synthesizer() -> Synthesizer:
    return Synthesizer()


def espeak_cli(text: str, voice: str, rate: int, path: Path) -> np.ndarray:
    """The same text from the espeak-ng command line, as an independent reference."""
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(path), text], check=True)
    return read_wav(path).mono()


def test_a_reply_is_written_as_a_valid_wav(synthesizer: Synthesizer, tmp_path: Path) -> None:
    speech = synthesizer.synthesize("Step 1 of 6: wet your hands with clean water.", "en")
    sink = WavDirSink(tmp_path / "replies")
    assert Playback(sink, speech.audio, "reply-en").start().wait()
    [path] = sink.files
    with wave.open(str(path), "rb") as reader:
        assert (reader.getnchannels(), reader.getsampwidth()) == (1, 2)
        assert reader.getframerate() == speech.audio.rate
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")
    assert 2.0 < len(samples) / speech.audio.rate < 8.0
    assert np.sqrt(np.mean(samples.astype(np.float64) ** 2)) > 500  # speech, not silence


def test_a_hindi_reply_uses_the_hindi_voice(synthesizer: Synthesizer, tmp_path: Path) -> None:
    speech = synthesizer.synthesize(HINDI_REPLY, "en")  # the script decides, whatever the tracker said
    assert speech.language == "hi"
    assert speech.voice == synthesizer.voice_for("hi") == "inc/hi"
    # espeak-ng's output depends a little on what it said before in the same
    # process, so the sample-exact comparison uses a fresh one: the reply path
    # must give exactly what espeak-ng's own Hindi voice gives.
    subprocess.run(
        [sys.executable, "-m", "tests.voice.synthesize", str(tmp_path)],
        check=True,
        cwd=PROJECT_DIR,
        input=json.dumps([["en", DEFAULT_RATE, HINDI_REPLY]]),
        text=True,
        timeout=120,
    )
    ours = read_wav(tmp_path / "000.wav").mono()
    hindi = espeak_cli(HINDI_REPLY, "hi", DEFAULT_RATE, tmp_path / "hi.wav")
    english = espeak_cli(HINDI_REPLY, "en", DEFAULT_RATE, tmp_path / "en.wav")
    assert np.array_equal(ours, hindi)
    assert not np.array_equal(ours[: len(english)], english[: len(ours)])


def test_english_replies_use_the_configured_or_best_english_voice() -> None:
    assert Synthesizer().voice_for("en") in {"gmw/en", "gmw/en-in"}
    assert Synthesizer(voices={"en": "gmw/en-us"}).synthesize("next", "en").voice == "gmw/en-us"
    assert language_of_text("Step 2 of 6") == "en" and language_of_text("चरण 2") == "hi"


def test_a_reply_is_synthesized_first_sentence_first() -> None:
    assert speech_parts("Step 1 of 10. Caution: wash. Then dry.") == ["Step 1 of 10.", "Caution: wash. Then dry."]
    assert speech_parts("Temperature 98.6 and patient 4,521 saved. Next?") == [
        "Temperature 98.6 and patient 4,521 saved.",
        "Next?",
    ]
    assert speech_parts("Dr. Mehta will call you. Bye.") == ["Dr. Mehta will call you.", "Bye."]
    assert speech_parts("Yes. That is saved.") == ["Yes. That is saved."]  # one word is not worth a part
    assert speech_parts(f"{HINDI_REPLY} कृपया आगे बोलिए।") == [HINDI_REPLY, "कृपया आगे बोलिए।"]
    assert speech_parts("  Checklist stopped.  ") == ["Checklist stopped."]
    assert speech_parts("") == []


def test_rate_is_configurable() -> None:
    text = "Please confirm the patient's age and blood pressure."
    slow = Synthesizer(rate=110).synthesize(text, "en").audio.duration
    fast = Synthesizer(rate=220).synthesize(text, "en").audio.duration
    assert slow > 1.5 * fast


def test_tts_target_parsing(tmp_path: Path) -> None:
    assert sink_from_spec(f"wav:{tmp_path}").name == "wav"
    assert sink_from_spec("none").name == "none"
    with pytest.raises(Exception, match="speaker, wav:DIR or none"):
        sink_from_spec("headphones")


def test_playback_stops_when_asked(synthesizer: Synthesizer) -> None:
    audio = synthesizer.synthesize("Step 3 of 6: rub your palms together for twenty seconds.", "en").audio
    recorder = RealTimeRecorder()
    playback = Playback(recorder, audio, "reply").start()
    time.sleep(0.5)
    playback.stop()
    assert playback.wait() is False and playback.interrupted
    assert 0.4 <= recorder.seconds <= 0.8 < audio.duration


class _Engine:
    """Only the sample rate matters for barge-in: no recognition happens while speaking."""

    name, language, sample_rate, min_confidence = "none", "en", 16000, 0.5


@pytest.mark.slow  # real speech, synthesized and played in real time
@pytest.mark.parametrize("barge_in", [True, False])
async def test_worker_speech_cuts_the_reply_off_and_is_kept(
    synthesizer: Synthesizer, english_speech: Callable[[str], Audio], barge_in: bool
) -> None:
    """The headset mic hears 1 s of quiet, then the worker saying "stop" while the reply plays."""
    reply = synthesizer.synthesize("Step 4 of 6: interlace your fingers and rub the backs of your hands.", "en")
    worker = english_speech("stop")
    mic = FileSource(concatenate([silence(1.0, worker.rate), worker, silence(1.0, worker.rate)]), paced=True)
    recorder = RealTimeRecorder()
    loop = VoiceLoop(
        _Engine(), RasaClient("http://127.0.0.1:9", "no-token"), synthesizer, recorder, "W001", barge_in=barge_in
    )
    playback = Playback(recorder, reply.audio, "reply").start()
    from voice.resample import StreamConverter

    carry = await loop._watch(playback, mic, StreamConverter(16000))
    if barge_in:
        assert playback.interrupted
        assert 1.0 < recorder.seconds < 1.8 < reply.audio.duration  # cut ~0.25 s after "stop" began
        assert carry is not None and len(carry) / 16000 > 0.25  # the start of "stop", for the recognizer
    else:
        assert carry is None and not playback.interrupted
        assert recorder.seconds == pytest.approx(reply.audio.duration, abs=0.06)
        assert mic.drain() > 0  # what the mic heard meanwhile is dropped: the loop never hears itself


def test_tones_are_short_and_distinct() -> None:
    listening, stop = tone("listening"), tone("stop")
    assert 0.1 < listening.duration < 0.3 and listening.duration == stop.duration
    assert not np.array_equal(listening.samples, stop.samples)
