"""The Vosk engine: one shared model, one Kaldi recognizer per stream.

Loading a model takes seconds and hundreds of MB, so each model directory is
loaded once per process and shared; recognizers are cheap and not
thread-safe, so every stream gets its own.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np

from voice.engine import UNKNOWN_WORD, Mode, Transcript, Word
from voice.errors import INSTALL_HINT, ModelError
from voice.grammar import CommandVocabulary, vosk_grammar
from voice.model_layout import VoskLayout, check_vosk_layout

log = logging.getLogger(__name__)

# Spellings of the unknown word across Vosk models (the Korean model uses <UNK>).
_UNKNOWN_SPELLINGS = ("[unk]", "<unk>", "<UNK>", "[UNK]")
_LANGUAGE_IN_NAME = re.compile(r"vosk[-_]model[-_](?:small[-_])?([a-z]{2})(?:[-_]|$)")

_models: dict[Path, Any] = {}
_models_lock = threading.Lock()


def _quiet_vosk() -> Any:
    import vosk

    # Kaldi logs every model load and decode at INFO to stderr; we report
    # problems ourselves, with advice.
    vosk.SetLogLevel(-1)
    return vosk


def shared_model(layout: VoskLayout) -> Any:
    """The process-wide ``vosk.Model`` for a model directory, loaded on first use."""
    key = layout.path.resolve()
    with _models_lock:
        if key not in _models:
            vosk = _quiet_vosk()
            try:
                _models[key] = vosk.Model(str(key))
            except Exception as exc:  # vosk raises a bare Exception on any load failure
                raise ModelError(
                    f"the Vosk model at {key} is corrupt or incompatible: Vosk could not load it. {INSTALL_HINT}"
                ) from exc
        return _models[key]


def language_of(path: Path) -> str:
    """Guess the spoken language from the model's directory name (vosk-model-small-hi-0.22 -> hi)."""
    for part in reversed(Path(path).resolve().parts):
        match = _LANGUAGE_IN_NAME.search(part.lower())
        if match:
            return match.group(1)
    return "en"


class VoskEngine:
    name = "vosk"
    # Vosk's word confidences are lattice posteriors: below one half, the
    # recognizer itself thinks another word more likely.
    min_confidence = 0.5

    def __init__(
        self, model_dir: Path, vocabulary: CommandVocabulary | None = None, language: str | None = None
    ) -> None:
        self.layout = check_vosk_layout(Path(model_dir))
        self.model = shared_model(self.layout)
        self.model_dir = self.layout.path
        self.language = language or language_of(self.model_dir)
        self.sample_rate = self.layout.sample_rate
        self.unknown_token = next((w for w in _UNKNOWN_SPELLINGS if self.knows_word(w)), None)
        self._vocabulary = vocabulary
        self._grammar: str | None = None
        self._grammar_lock = threading.Lock()

    def knows_word(self, word: str) -> bool:
        return self.model.vosk_model_find_word(word) >= 0

    def grammar(self) -> list[str] | None:
        """The command-mode grammar, or None when the model or vocabulary cannot give one."""
        text = self._grammar_json()
        return None if text is None else json.loads(text)

    def _grammar_json(self) -> str | None:
        if self._vocabulary is None or not self.layout.supports_grammar:
            return None
        with self._grammar_lock:
            if self._grammar is None:
                words = vosk_grammar(self._vocabulary, self.knows_word, self.unknown_token)
                # ensure_ascii=False: Vosk looks words up byte for byte, and
                # "\ud558" escapes would match nothing in a Korean or Hindi model.
                self._grammar = json.dumps(words, ensure_ascii=False)
        return self._grammar

    def open_stream(self, mode: Mode = "command", alternatives: int = 0, detailed: bool = False) -> VoskStream:
        """(Vosk's words always carry their own timing and confidence: ``detailed`` changes nothing.)"""
        grammar = self._grammar_json() if mode == "command" else None
        if mode == "command" and grammar is None:
            log.debug("command mode without a grammar (model has a static graph or no vocabulary)")
        return VoskStream(self, grammar, alternatives)


def _n_best_words(alternatives: list[dict[str, Any]]) -> list[Word]:
    """Words of the best hypothesis, each scored by the share of the N-best list that agrees.

    Vosk gives per-word confidence only without alternatives; with them it
    gives each hypothesis a total score. Turning the scores into posteriors
    and summing those of the hypotheses that have the same word at the same
    place gives a per-word confidence of the same meaning.
    """
    scores = np.array([float(alt.get("confidence", 0.0)) for alt in alternatives])
    posteriors = np.exp(scores - scores.max())
    posteriors /= posteriors.sum()
    best = alternatives[0].get("result", [])
    words = []
    for item in best:
        agree = sum(
            p
            for p, alt in zip(posteriors, alternatives, strict=False)
            if any(
                other["word"] == item["word"] and abs(other["start"] - item["start"]) < 0.1
                for other in alt.get("result", [])
            )
        )
        words.append(Word(item["word"], float(item["start"]), float(item["end"]), float(min(1.0, agree))))
    return words


class VoskStream:
    """A single recognizer; Vosk's own endpointing may split an utterance into segments."""

    def __init__(self, engine: VoskEngine, grammar: str | None, alternatives: int) -> None:
        vosk = _quiet_vosk()
        self._engine = engine
        if grammar is not None:
            self._recognizer = vosk.KaldiRecognizer(engine.model, engine.sample_rate, grammar)
        else:
            self._recognizer = vosk.KaldiRecognizer(engine.model, engine.sample_rate)
        self._recognizer.SetWords(True)
        self._alternatives = max(0, alternatives)
        if self._alternatives:
            self._recognizer.SetMaxAlternatives(self._alternatives)
        self._words: list[Word] = []
        self._other_texts: list[list[str]] = []
        self._partial = ""

    def _absorb(self, raw: str) -> None:
        result = json.loads(raw)
        if self._alternatives and result.get("alternatives"):
            alternatives = result["alternatives"]
            words = _n_best_words(alternatives)
            self._other_texts.append([alt.get("text", "") for alt in alternatives[1:]])
        else:
            words = [
                Word(item["word"], float(item["start"]), float(item["end"]), float(item.get("conf", 1.0)))
                for item in result.get("result", [])
            ]
        unknown = self._engine.unknown_token
        self._words.extend(
            Word(UNKNOWN_WORD if w.text == unknown else w.text, w.start, w.end, w.confidence) for w in words
        )

    def accept(self, samples: np.ndarray) -> str | None:
        data = np.asarray(samples, dtype="<i2").tobytes()
        if self._recognizer.AcceptWaveform(data):
            self._absorb(self._recognizer.Result())
            partial = ""
        else:
            partial = json.loads(self._recognizer.PartialResult()).get("partial", "")
        text = " ".join([w.text for w in self._words] + ([partial] if partial else []))
        if text == self._partial:
            return None
        self._partial = text
        return text

    def prepare(self) -> None:
        pass  # Kaldi decodes as the audio arrives: at the end only the last frames are left

    def final(self) -> Transcript:
        self._absorb(self._recognizer.FinalResult())
        words = tuple(self._words)
        text = " ".join(w.text for w in words if w.text != UNKNOWN_WORD)
        alternatives = (
            tuple(" ".join(parts) for parts in zip(*self._other_texts, strict=False)) if self._other_texts else ()
        )
        self._recognizer.Reset()
        self._words, self._other_texts, self._partial = [], [], ""
        return Transcript(text=text, words=words, alternatives=alternatives)
