"""The speech recognition engine interface and its results.

An ``Engine`` loads its model once and opens any number of
``RecognitionStream``s on it, one per utterance or audio stream. A stream takes
mono int16 audio at ``engine.sample_rate`` and gives partial text while audio
arrives and a ``Transcript`` at the end.

Modes: ``command`` restricts (Vosk: runtime grammar) or biases (whisper:
prompt) recognition towards the assistant's command vocabulary; ``dictation``
is open vocabulary, for free-text fields such as the complaint and notes.
"""

from __future__ import annotations

import dataclasses
from typing import Literal, Protocol

import numpy as np

Mode = Literal["command", "dictation"]
MODES: tuple[Mode, ...] = ("command", "dictation")

# The token a result carries for speech outside the grammar, whatever the
# model itself calls it ("[unk]", "<UNK>", ...).
UNKNOWN_WORD = "[unk]"


@dataclasses.dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float
    confidence: float

    def as_dict(self) -> dict[str, object]:
        return {
            "word": self.text,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "conf": round(self.confidence, 3),
        }


@dataclasses.dataclass(frozen=True)
class Transcript:
    text: str
    words: tuple[Word, ...] = ()
    # Other hypotheses, best first, when the stream was asked for them.
    alternatives: tuple[str, ...] = ()
    # The engine's own score for the whole utterance, when it has a better one
    # than the mean of its words (whisper: the decoder's mean token probability).
    score: float | None = None

    @property
    def confidence(self) -> float:
        """The utterance's confidence: the engine's score, else the mean word confidence.

        Unknown-token words count with their own (usually low) confidence,
        so speech outside the grammar pulls the score down. Nothing heard: 0.0.
        """
        if not self.words:
            return 0.0
        if self.score is not None:
            return self.score
        return float(np.mean([word.confidence for word in self.words]))

    @property
    def unknown_words(self) -> int:
        return sum(1 for word in self.words if word.text == UNKNOWN_WORD)

    def as_dict(self) -> dict[str, object]:
        result: dict[str, object] = {
            "text": self.text,
            "confidence": round(self.confidence, 3),
            "words": [word.as_dict() for word in self.words],
        }
        if self.alternatives:
            result["alternatives"] = list(self.alternatives)
        return result


class RecognitionStream(Protocol):
    def accept(self, samples: np.ndarray) -> str | None:
        """Feed mono int16 audio; returns the new partial text when it changed."""

    def prepare(self) -> None:
        """The utterance may be complete (``SpeechPause``). A stream that decodes only at the
        end may start now, without blocking; ``final()`` gives that result when no audio
        came in between, and decodes again when some did. Streaming decoders need not act."""

    def final(self) -> Transcript:
        """End of the utterance: the final result. The stream is reset for reuse."""


class Engine(Protocol):
    name: str
    language: str  # "en", "hi", ... what the model hears
    sample_rate: int
    # Below this the loop asks the worker to repeat; each engine's scores
    # have their own scale, so each has its own default.
    min_confidence: float

    def open_stream(self, mode: Mode = "command", alternatives: int = 0, detailed: bool = False) -> RecognitionStream:
        """``detailed``: per-word timing and confidence even where they cost extra (whisper:
        a second pass); otherwise an engine may give every word the utterance's score."""

    def knows_word(self, word: str) -> bool: ...


def transcribe(
    engine: Engine,
    samples: np.ndarray,
    mode: Mode = "command",
    alternatives: int = 0,
    detailed: bool = False,
    block: int = 4000,
) -> Transcript:
    """Decode one whole utterance by streaming it through a fresh stream."""
    stream = engine.open_stream(mode, alternatives=alternatives, detailed=detailed)
    for start in range(0, len(samples), block):
        stream.accept(samples[start : start + block])
    return stream.final()
