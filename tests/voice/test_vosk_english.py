"""Accuracy of the Vosk engine on the English test conversations, when an English model is at hand.

No English Vosk model can be obtained offline, so this runs only where one is
provided: ``ASSISTANT_TEST_VOSK_EN_MODEL=/path/to/vosk-model-small-en-in-0.4``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.core.spoken_numbers import normalise_numbers
from tests.voice.conftest import ENGLISH_PHRASES
from voice.audio import Audio
from voice.engine import transcribe
from voice.grammar import build_command_vocabulary
from voice.resample import to_mono_rate

MODEL = os.environ.get("ASSISTANT_TEST_VOSK_EN_MODEL", "")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not MODEL,
        reason="no English Vosk model: set ASSISTANT_TEST_VOSK_EN_MODEL to an unpacked "
        "model directory (none can be downloaded offline)",
    ),
]
MAX_WORD_ERROR_RATE = 0.15


def word_errors(reference: list[str], hypothesis: list[str]) -> int:
    """Levenshtein distance over words: substitutions + insertions + deletions."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i]
        for j, hyp in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


def test_english_commands_in_command_mode(english_speech: Callable[[str], Audio]) -> None:
    from voice.vosk_engine import VoskEngine

    engine = VoskEngine(Path(MODEL), build_command_vocabulary())
    errors = words = 0
    for phrase in ENGLISH_PHRASES:
        result = transcribe(engine, to_mono_rate(english_speech(phrase), engine.sample_rate), "command")
        reference = normalise_numbers(phrase).split()
        errors += word_errors(reference, normalise_numbers(result.text).split())
        words += len(reference)
    assert errors / words <= MAX_WORD_ERROR_RATE
