"""Endpointing without a recognizer: energy thresholds, noise adaptation, push-to-talk."""

from __future__ import annotations

import numpy as np

from tests.voice.conftest import burst, noise
from voice.audio import Audio, concatenate, silence
from voice.endpoint import (
    EndpointConfig,
    Endpointer,
    PushToTalk,
    SpeechAudio,
    SpeechEnd,
    SpeechPause,
    SpeechStart,
    collect_utterances,
)

RATE = 16000


def mixed(clip: Audio, background: Audio) -> np.ndarray:
    return np.clip(clip.mono().astype(np.int32) + background.mono()[: clip.frames], -32768, 32767).astype(np.int16)


def test_a_click_is_not_speech_but_a_word_is() -> None:
    recording = concatenate([silence(0.5, RATE), burst(0.05), silence(1.0, RATE), burst(0.6), silence(1.0, RATE)])
    [utterance] = collect_utterances(Endpointer(RATE), [recording.mono()], RATE)
    assert 1.55 - 0.35 <= utterance.start <= 1.55
    assert abs(utterance.end - 2.15) <= 0.03


def test_steady_background_noise_is_learnt_and_ignored() -> None:
    """A fan at -35 dBFS is above the absolute floor, but it is steady: once it has been
    heard for the noise window (3 s), only the word counts."""
    recording = concatenate([silence(4.0, RATE), burst(0.8), silence(1.5, RATE)])
    fan = noise(recording.duration, RATE, level_db=-35.0)
    utterances = collect_utterances(Endpointer(RATE), [mixed(recording, fan)], RATE)
    assert len(utterances) == 2  # the fan, until learnt; then the word
    assert utterances[0].start < 0.2 and 2.9 <= utterances[0].end <= 3.8
    assert 3.6 <= utterances[1].start <= 4.0 and abs(utterances[1].end - 4.8) <= 0.06


def test_silence_length_is_configurable() -> None:
    recording = concatenate([burst(0.5), silence(0.5, RATE), burst(0.5), silence(1.0, RATE)])
    assert len(collect_utterances(Endpointer(RATE, EndpointConfig(silence_ms=300)), [recording.mono()], RATE)) == 2
    assert len(collect_utterances(Endpointer(RATE, EndpointConfig(silence_ms=800)), [recording.mono()], RATE)) == 1


def test_open_utterance_is_closed_at_end_of_input() -> None:
    [utterance] = collect_utterances(Endpointer(RATE), [concatenate([silence(0.3, RATE), burst(1.0)]).mono()], RATE)
    assert utterance.reason == "end_of_stream" and utterance.duration >= 1.0


def test_push_to_talk_takes_exactly_what_is_between_press_and_release() -> None:
    ptt = PushToTalk(RATE)
    block = burst(0.1).mono()
    events = ptt.push(block)  # not pressed: ignored
    ptt.press()
    for _ in range(5):
        events += ptt.push(block)
    ptt.release()
    events += ptt.push(block)
    assert [type(e) for e in events] == [SpeechStart] + [SpeechAudio] * 5 + [SpeechEnd]
    assert events[0].time == 0.1 and events[-1].reason == "released"
    assert sum(len(e.samples) for e in events if isinstance(e, SpeechAudio)) == 5 * len(block)


def test_push_to_talk_has_a_maximum_length() -> None:
    ptt = PushToTalk(RATE, max_utterance_ms=300)
    ptt.toggle()
    events = [e for _ in range(5) for e in ptt.push(burst(0.1).mono())]
    assert isinstance(events[-1], SpeechEnd) and events[-1].reason == "max_length" and not ptt.pressed


def test_an_utterance_keeps_its_pauses_and_only_a_tail_of_the_silence_after_it() -> None:
    """A pause between words stays in the audio, sample for sample; of the 0.8 s that end the
    utterance only ``tail_ms`` is passed on."""
    recording = concatenate([silence(0.5, RATE), burst(0.5), silence(0.5, RATE), burst(0.5), silence(1.0, RATE)])
    config = EndpointConfig(silence_ms=800, tail_ms=300)
    [utterance] = collect_utterances(Endpointer(RATE, config), [recording.mono()], RATE)
    first = round(utterance.start * RATE)
    assert np.array_equal(utterance.samples, recording.mono()[first : first + len(utterance.samples)])
    assert len(utterance.samples) == round((utterance.end + 0.3 - utterance.start) * RATE)
    assert abs(utterance.end - 2.0) <= 0.03


def test_a_pause_comes_once_the_tail_has_passed_and_nothing_follows_it_but_the_end() -> None:
    recording = concatenate([silence(0.5, RATE), burst(0.5), silence(0.5, RATE), burst(0.5), silence(1.0, RATE)])
    events = Endpointer(RATE, EndpointConfig(silence_ms=800, tail_ms=300)).push(recording.mono())
    pauses = [i for i, event in enumerate(events) if isinstance(event, SpeechPause)]
    assert len(pauses) == 2  # between the words, then after the last one
    assert any(isinstance(event, SpeechAudio) for event in events[pauses[0] : pauses[1]])  # the worker went on
    assert [type(event) for event in events[pauses[1] :]] == [SpeechPause, SpeechEnd]
    assert events[pauses[1]].time == events[-1].time  # both: when the last word ended


def test_no_pause_when_the_silence_that_ends_an_utterance_is_shorter_than_the_tail() -> None:
    recording = concatenate([burst(0.5), silence(0.5, RATE)])
    events = Endpointer(RATE, EndpointConfig(silence_ms=200, tail_ms=300)).push(recording.mono())
    assert not any(isinstance(event, SpeechPause) for event in events)
    assert isinstance(events[-1], SpeechEnd)
