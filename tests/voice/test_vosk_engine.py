"""The Vosk engine against a real Vosk model (Korean, from PyPI) and real synthesized speech."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.voice.conftest import (
    KOREAN_PHRASES,
    KOREAN_WORDS,
    NOT_IN_KOREAN_MODEL,
    TELEPHONE_PHRASES,
    convert,
    noise,
    speech_span,
)
from voice.audio import Audio, concatenate, silence
from voice.endpoint import EndpointConfig, Endpointer, collect_utterances
from voice.engine import UNKNOWN_WORD, transcribe
from voice.errors import ModelError
from voice.resample import StreamConverter, to_mono_rate
from voice.vosk_engine import VoskEngine

pytestmark = pytest.mark.slow


def decode(engine: VoskEngine, audio: Audio, mode: str = "command") -> str:
    return transcribe(engine, to_mono_rate(audio, engine.sample_rate), mode).text


def test_loads_once_and_describes_itself(korean_engine: VoskEngine, korean_model_dir: Path) -> None:
    assert korean_engine.language == "ko"
    assert korean_engine.sample_rate == 16000
    assert korean_engine.layout.supports_grammar
    assert korean_engine.unknown_token == "<UNK>"  # this model's spelling of the unknown word
    again = VoskEngine(korean_model_dir)
    assert again.model is korean_engine.model  # one shared Model per process


@pytest.mark.parametrize("rate", [16000, 22050, 44100, 48000])
@pytest.mark.parametrize("channels", [1, 2])
def test_streaming_decode_at_common_rates(
    korean_engine: VoskEngine, korean_speech: Callable[[str], Audio], rate: int, channels: int
) -> None:
    for phrase in KOREAN_PHRASES[:2] + TELEPHONE_PHRASES[:1]:
        assert decode(korean_engine, convert(korean_speech(phrase), rate, channels)) == phrase


@pytest.mark.parametrize("channels", [1, 2])
def test_streaming_decode_of_telephone_band_audio(
    korean_engine: VoskEngine, korean_speech: Callable[[str], Audio], channels: int
) -> None:
    for phrase in TELEPHONE_PHRASES:
        assert decode(korean_engine, convert(korean_speech(phrase), 8000, channels)) == phrase


def test_partial_results_arrive_before_the_final_one(
    korean_engine: VoskEngine, korean_speech: Callable[[str], Audio]
) -> None:
    phrase = KOREAN_PHRASES[0]
    samples = to_mono_rate(korean_speech(phrase), 16000)
    stream = korean_engine.open_stream("command")
    partials = [p for i in range(0, len(samples), 1600) if (p := stream.accept(samples[i : i + 1600]))]
    result = stream.final()
    assert partials, "no partial result while audio was streaming"
    assert set(" ".join(partials).split()) <= set(KOREAN_WORDS)
    assert partials[-1].split() == phrase.split()[: len(partials[-1].split())]
    assert result.text == phrase
    assert [w.text for w in result.words] == phrase.split()
    assert all(0.0 < w.confidence <= 1.0 and w.start < w.end for w in result.words)
    assert result.words[0].start < result.words[-1].start


def test_dictation_is_open_vocabulary(korean_engine: VoskEngine, korean_speech: Callable[[str], Audio]) -> None:
    samples = to_mono_rate(korean_speech("안녕하세요 오늘 날씨가 좋습니다"), 16000)
    words = transcribe(korean_engine, samples, "dictation").words
    assert words, "open-vocabulary decoding heard nothing"
    assert any(w.text not in KOREAN_WORDS for w in words)  # not held to the command grammar


def test_grammar_drops_words_the_model_lacks_and_adds_its_unknown_token(korean_engine: VoskEngine) -> None:
    grammar = korean_engine.grammar()
    assert grammar is not None
    assert grammar[-1] == "<UNK>"
    assert set(grammar[:-1]) == set(KOREAN_WORDS)
    assert not set(grammar) & set(NOT_IN_KOREAN_MODEL)


def test_every_command_mode_word_is_in_the_grammar_or_unknown(
    korean_engine: VoskEngine, korean_speech: Callable[[str], Audio]
) -> None:
    """Out-of-grammar Korean speech still comes out as grammar words or the unknown token."""
    allowed = set(KOREAN_WORDS) | {UNKNOWN_WORD}
    for sentence in ("안녕하세요 오늘 날씨가 좋습니다", "의사 선생님을 불러 주세요", "환자 정지"):
        samples = to_mono_rate(korean_speech(sentence), 16000)
        command = transcribe(korean_engine, samples, "command")
        assert {w.text for w in command.words} <= allowed
        dictation = transcribe(korean_engine, samples, "dictation")
        assert dictation.text  # the same audio does hold words outside the grammar
    assert {w.text for w in dictation.words} <= allowed or sentence == "환자 정지"


def test_alternatives_come_with_n_best_confidences(
    korean_engine: VoskEngine, korean_speech: Callable[[str], Audio]
) -> None:
    """Open-vocabulary decoding of free speech has several hypotheses to offer."""
    samples = to_mono_rate(korean_speech("안녕하세요 오늘 날씨가 좋습니다"), 16000)
    result = transcribe(korean_engine, samples, "dictation", alternatives=3)
    assert result.text and result.words
    assert 1 <= len(result.alternatives) <= 2
    assert all(text and text != result.text for text in result.alternatives)
    assert all(0.0 < w.confidence <= 1.0 for w in result.words)
    assert min(w.confidence for w in result.words) < 1.0  # the hypotheses disagree somewhere


def test_endpointing_splits_a_recording_into_utterances(
    korean_engine: VoskEngine, korean_speech: Callable[[str], Audio]
) -> None:
    """Three commands separated by pauses, over quiet room noise, at 44.1 kHz stereo."""
    rate = 44100
    # Phrases that survive leading silence (Vosk's online adaptation hears "시작" as "환자" after a pause).
    phrases = (KOREAN_PHRASES[1], KOREAN_PHRASES[2], TELEPHONE_PHRASES[0])
    parts, spans, cursor = [silence(0.6, rate)], [], 0.6
    for phrase in phrases:
        clip = convert(korean_speech(phrase), rate)
        start, end = speech_span(clip)
        spans.append((cursor + start, cursor + end))
        parts += [clip, silence(1.2, rate)]
        cursor += clip.duration + 1.2
    speech = concatenate(parts)
    room = noise(speech.duration, rate, level_db=-60.0)
    mixed = np.clip(speech.samples[:, 0].astype(np.int32) + room.samples[: speech.frames, 0], -32768, 32767)
    recording = convert(Audio.from_mono(mixed.astype(np.int16), rate), rate, channels=2)

    converter = StreamConverter(16000)
    blocks = [converter.convert(Audio(recording.samples[i : i + 2205], rate)) for i in range(0, recording.frames, 2205)]
    config = EndpointConfig(silence_ms=500)
    utterances = collect_utterances(Endpointer(16000, config), blocks, 16000)

    assert [u.reason for u in utterances] == ["silence"] * 3
    for utterance, (start, end), phrase in zip(utterances, spans, phrases, strict=True):
        # The utterance opens a pre-roll before the speech and closes within a frame or two of its end.
        assert start - config.pre_roll_ms / 1000 - 0.1 <= utterance.start <= start
        assert end - 0.1 <= utterance.end <= end + 0.1
        assert transcribe(korean_engine, utterance.samples, "command").text == phrase


def test_max_utterance_length_cuts_long_speech(korean_speech: Callable[[str], Audio]) -> None:
    clip = to_mono_rate(korean_speech(" ".join(KOREAN_PHRASES)), 16000)
    utterances = collect_utterances(
        Endpointer(16000, EndpointConfig(max_utterance_ms=1000, silence_ms=2000)), [clip], 16000
    )
    assert len(utterances) >= 2
    assert utterances[0].reason == "max_length"
    assert all(u.duration <= 1.0 + 0.31 for u in utterances)  # + pre-roll


def test_concurrent_streams_share_one_model(korean_engine: VoskEngine, korean_speech: Callable[[str], Audio]) -> None:
    inputs = [to_mono_rate(korean_speech(p), 16000) for p in KOREAN_PHRASES]
    expected = [transcribe(korean_engine, x, "command").text for x in inputs]
    results: dict[int, str] = {}
    barrier = threading.Barrier(len(inputs))

    def work(index: int) -> None:
        stream = korean_engine.open_stream("command")
        barrier.wait()  # all streams decode at the same time
        samples = inputs[index]
        for i in range(0, len(samples), 800):
            stream.accept(samples[i : i + 800])
        results[index] = stream.final().text

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [results.get(i) for i in range(len(inputs))] == expected == list(KOREAN_PHRASES)


def test_missing_model_gives_install_advice(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no Vosk model at .*assistant models download"):
        VoskEngine(tmp_path / "nowhere")
    (tmp_path / "half" / "am").mkdir(parents=True)
    with pytest.raises(ModelError, match="not a complete Vosk model: missing .*final.mdl"):
        VoskEngine(tmp_path / "half")


def _linked_copy(source: Path, target: Path) -> Path:
    """A copy of the model made of hard links (instant, no disk), to damage one file of."""
    shutil.copytree(source, target, copy_function=os.link)
    return target


def test_corrupt_model_gives_a_clear_error(korean_model_dir: Path, tmp_path: Path) -> None:
    broken = _linked_copy(korean_model_dir, tmp_path / "broken")
    acoustic = broken / "am" / "final.mdl"
    data = acoustic.read_bytes()[:100_000]
    acoustic.unlink()  # break the link before writing, or the real model would be damaged
    acoustic.write_bytes(data)
    with pytest.raises(ModelError, match="corrupt or incompatible.*assistant models"):
        VoskEngine(broken)
