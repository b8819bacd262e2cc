"""Speech out: pyttsx3 on espeak-ng, with the voice chosen by reply language.

pyttsx3 synthesizes to a WAV file; we read it back as ``Audio`` so the same
samples can go to the headset (interruptibly, see ``voice.playback``) or to a
WAV file. espeak-ng can only be initialised once per process and pyttsx3 is
not thread-safe, so one engine serves the process behind a lock.

A turn's replies are spoken through ``SpokenReplies``: the first sentence of
each is synthesized on its own, so playback starts as soon as it is ready, and
the rest of the turn is synthesized, in order, while it plays.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import io
import itertools
import queue
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from assistant.core.language import script_language
from voice.audio import Audio, read_wav
from voice.errors import VoiceError

# Wanted voices per reply language, best first, matched against the
# languages espeak-ng reports. espeak-ng ships no Indian-English voice; the
# British one (its default "en") is then used: it is the clearest of its
# English voices, for people and for speech recognizers alike.
VOICE_PREFERENCES: dict[str, tuple[str, ...]] = {
    "en": ("en-in", "en-gb", "en"),
    "hi": ("hi",),
}
DEFAULT_RATE = 140  # words per minute: calm and clear in a noisy clinic (espeak defaults to 175)


def language_of_text(text: str, default: str = "en") -> str:
    """Devanagari script means a Hindi reply, whatever the tracker said."""
    return script_language(text) or default


@dataclasses.dataclass(frozen=True)
class Speech:
    text: str
    language: str
    voice: str
    audio: Audio


_engine_lock = threading.Lock()
_engine: Any = None


def _pyttsx3_engine() -> Any:
    global _engine
    if _engine is None:
        import pyttsx3

        try:
            _engine = pyttsx3.init()
        except (RuntimeError, OSError) as exc:
            raise VoiceError(
                f"speech output is unavailable: {exc}; install espeak-ng (apt-get install espeak-ng)"
            ) from exc
        # A new pyttsx3 engine holds property changes back until its first
        # run loop, where espeak may then still be applying them when the loop
        # cancels "the current utterance", and the rate is lost. Released now,
        # they reach espeak at once and ``_settle`` can wait for them.
        _engine.proxy.setBusy(False)
        atexit.register(_release_engine)
    return _engine


def _release_engine() -> None:
    # pyttsx3's driver cleans up in ``__del__`` with modules that interpreter
    # teardown has already emptied, which prints a traceback at every exit.
    global _engine
    _engine = None


def available_voices() -> dict[str, list[str]]:
    """Voice ids by the language code espeak-ng gives each (``{"hi": ["inc/hi"], ...}``)."""
    with _engine_lock:
        voices = _pyttsx3_engine().getProperty("voices")
    by_language: dict[str, list[str]] = {}
    for voice in voices:
        for language in voice.languages or []:
            by_language.setdefault(str(language).lower(), []).append(voice.id)
    return by_language


def choose_voice(language: str, configured: str = "") -> str:
    if configured:
        return configured
    voices = available_voices()
    for wanted in VOICE_PREFERENCES.get(language, (language,)):
        if voices.get(wanted):
            return voices[wanted][0]
    raise VoiceError(f"no espeak-ng voice for language {language!r}; install espeak-ng-data")


class Synthesizer:
    """Text to ``Speech`` in the voice for its language, at a configurable rate."""

    def __init__(self, rate: int = DEFAULT_RATE, voices: dict[str, str] | None = None) -> None:
        self.rate = rate
        self._configured = dict(voices or {})
        self._chosen: dict[str, str] = {}

    def voice_for(self, language: str) -> str:
        if language not in self._chosen:
            self._chosen[language] = choose_voice(language, self._configured.get(language, ""))
        return self._chosen[language]

    def synthesize(self, text: str, language: str | None = None) -> Speech:
        language = language_of_text(text, language or "en")
        voice = self.voice_for(language)
        with _engine_lock:
            for _attempt in range(_ATTEMPTS):
                target = _scratch_file()
                engine = _pyttsx3_engine()
                engine.setProperty("voice", voice)
                engine.setProperty("rate", self.rate)
                _settle(engine)
                # pyttsx3's espeak driver prints "Audio saved to ..." on stdout,
                # which would corrupt our JSON output.
                with contextlib.redirect_stdout(io.StringIO()):
                    engine.save_to_file(text, str(target))
                    engine.runAndWait()
                    _settle(engine)
                if target.is_file():
                    try:
                        return Speech(text=text, language=language, voice=voice, audio=read_wav(target))
                    finally:
                        target.unlink()
        raise VoiceError("espeak-ng produced no audio")


# A sentence ends at ., !, ? or the danda, before a space: "98.6" and "4,521" do not end one.
_SENTENCE_END = re.compile(r"(?<=[.!?\u0964])\s+(?=\S)")


def speech_parts(text: str) -> list[str]:
    """The reply as it is synthesized: its first sentence, then the rest in one piece.

    The first sentence alone is quick to synthesize, so the worker hears it
    sooner; the rest stays whole so espeak-ng keeps its phrasing. A first
    "sentence" of one word ("Dr.", "Yes.") is not split off: it may be an
    abbreviation, and it would gain nothing.
    """
    text = text.strip()
    for boundary in _SENTENCE_END.finditer(text):
        first, rest = text[: boundary.start()], text[boundary.end() :]
        if len(first.split()) > 1:
            return [first, rest]
    return [text] if text else []


_DONE = object()  # the end of one reply's parts


class SpokenReplies:
    """A turn's replies synthesized in order on one background thread, ahead of playback.

    ``reply(i)`` gives reply ``i``'s ``Speech`` parts as they become ready;
    each part is synthesized once, and all of them in the order spoken.
    ``cancel()`` (barge-in) stops after the part in progress.
    """

    def __init__(self, synthesizer: Synthesizer, replies: Sequence[tuple[str, str]]) -> None:
        self._replies = list(replies)  # (text, language)
        self._ready: list[queue.Queue[Any]] = [queue.Queue() for _ in self._replies]
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(synthesizer,), name="tts-ahead", daemon=True)

    def __enter__(self) -> SpokenReplies:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.cancel()

    def _run(self, synthesizer: Synthesizer) -> None:
        index = 0
        try:
            for index, (text, language) in enumerate(self._replies):
                for part in speech_parts(text):
                    if self._cancelled.is_set():
                        return
                    self._ready[index].put(synthesizer.synthesize(part, language))
                self._ready[index].put(_DONE)
        except BaseException as exc:  # raised where the reply is played
            for ready in self._ready[index:]:
                ready.put(exc)
        finally:
            for ready in self._ready[index:]:
                ready.put(_DONE)  # cancelled or failed: nobody waits for a part that will not come

    def reply(self, index: int) -> Iterator[Speech]:
        while (item := self._ready[index].get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item

    def cancel(self) -> None:
        self._cancelled.set()


def _settle(engine: Any, timeout: float = 10.0) -> None:
    """Wait until espeak-ng has worked through its queue and pyttsx3 has written the file.

    pyttsx3 runs espeak-ng asynchronously: voice and rate changes are queued
    commands, and ``runAndWait`` first calls ``espeak_Cancel`` if espeak is
    still busy, which throws queued commands away; and the callback that
    writes the WAV file may still be running when ``runAndWait`` returns.
    Without this wait a rate change is sometimes lost, or a file read half-written.
    """
    from pyttsx3.drivers import _espeak

    _espeak.Synchronize()
    driver = engine.proxy._driver
    deadline = time.monotonic() + timeout
    while getattr(driver, "_speaking", False) and time.monotonic() < deadline:
        time.sleep(0.002)


# Should a call still come back without its file, a retry is enough; a late
# write from the espeak thread lands in the same scratch directory, which
# outlives every call.
_ATTEMPTS = 3
_scratch: Path | None = None
_counter = itertools.count()


def _scratch_file() -> Path:
    global _scratch
    if _scratch is None:
        _scratch = Path(tempfile.mkdtemp(prefix="assistant-tts-"))
        atexit.register(shutil.rmtree, _scratch, True)
    return _scratch / f"speech-{next(_counter)}.wav"
