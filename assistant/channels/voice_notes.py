"""Voice notes (WhatsApp's OGG/Opus) to text, with the voice package's recognition engine.

The audio is decoded with PyAV (FFmpeg, which faster-whisper brings), mixed
to mono and resampled to the engine's rate, then decoded like a spoken
utterance. The engine is loaded once, on the first voice note, and runs in a
worker thread so the Rasa server keeps answering meanwhile.
"""

from __future__ import annotations

import asyncio
import io
import threading

import numpy as np

from assistant.core.config import Settings
from voice.engine import Engine, Mode, Transcript, transcribe
from voice.errors import AudioFormatError

MAX_SECONDS = 120  # a field worker's voice note; longer ones are refused, not cut
# A voice note starts and stops at the press of a button, while utterances from
# the live endpointer carry pre-roll and trailing silence. Without that silence
# the recognizers (whisper especially) invent words after the last one.
PAD_SECONDS = 0.5


class VoiceNoteTooLong(AudioFormatError):
    pass


def decode_audio(data: bytes, rate: int) -> np.ndarray:
    """Any container/codec FFmpeg reads (OGG/Opus, AAC, MP3, AMR...) -> mono int16 at ``rate``."""
    import av

    parts: list[np.ndarray] = []
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise AudioFormatError("the voice note holds no audio")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
            total = 0
            for frame in container.decode(container.streams.audio[0]):
                for converted in resampler.resample(frame):
                    parts.append(converted.to_ndarray().reshape(-1))
                    total += parts[-1].size
                if total > MAX_SECONDS * rate:
                    raise VoiceNoteTooLong(f"the voice note is longer than {MAX_SECONDS} seconds")
            for converted in resampler.resample(None):
                parts.append(converted.to_ndarray().reshape(-1))
    except av.FFmpegError as exc:
        raise AudioFormatError(f"the voice note could not be decoded ({exc.__class__.__name__})") from exc
    return np.concatenate(parts).astype(np.int16) if parts else np.zeros(0, dtype=np.int16)


class VoiceNoteTranscriber:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def _load(self) -> Engine:
        with self._lock:
            if self._engine is None:
                from voice.engine_choice import create_engine

                self._engine = create_engine(self.settings.voice_engine, self.settings)
            return self._engine

    @property
    def language(self) -> str | None:
        return self._engine.language if self._engine is not None else None

    def transcribe_sync(self, data: bytes, mode: Mode) -> Transcript:
        engine = self._load()
        samples = decode_audio(data, engine.sample_rate)
        if samples.size == 0:
            return Transcript(text="")
        pad = np.zeros(int(PAD_SECONDS * engine.sample_rate), dtype=np.int16)
        return transcribe(engine, np.concatenate([pad, samples, pad]), mode)

    async def transcribe(self, data: bytes, mode: Mode) -> Transcript:
        return await asyncio.get_running_loop().run_in_executor(None, self.transcribe_sync, data, mode)
