"""Audio values and the formats they come in: WAV files and raw PCM.

Everything inside the voice package is 16-bit signed PCM held as a NumPy
array of shape (frames, channels). Recognizers want mono at their own rate;
``voice.resample`` converts.
"""

from __future__ import annotations

import dataclasses
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from voice.errors import AudioFormatError

# The rates the issue names are 8k, 16k, 22.05k, 44.1k and 48k; anything in
# this range resamples fine, so only nonsense is rejected.
MIN_RATE = 8_000
MAX_RATE = 192_000
MAX_CHANNELS = 8


@dataclasses.dataclass(frozen=True)
class Audio:
    """PCM audio: ``samples`` is int16 with shape (frames, channels)."""

    samples: np.ndarray
    rate: int

    def __post_init__(self) -> None:
        if self.samples.dtype != np.int16 or self.samples.ndim != 2:
            raise ValueError("Audio.samples must be an int16 array of shape (frames, channels)")

    @classmethod
    def from_mono(cls, samples: np.ndarray, rate: int) -> Audio:
        return cls(np.asarray(samples, dtype=np.int16).reshape(-1, 1), rate)

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration(self) -> float:
        return self.frames / self.rate

    def mono(self) -> np.ndarray:
        """Channels averaged into one int16 vector (averaging avoids clipping)."""
        if self.channels == 1:
            return self.samples[:, 0]
        return np.round(self.samples.astype(np.float32).mean(axis=1)).astype(np.int16)

    def pcm16(self) -> bytes:
        """Interleaved little-endian 16-bit PCM, as WAV files and Vosk carry it."""
        return self.samples.astype("<i2", copy=False).tobytes()


def _check_rate(rate: int, source: str) -> None:
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioFormatError(
            f"{source}: sample rate {rate} Hz is not supported; use 8000-48000 Hz "
            "(8k, 16k, 22.05k, 44.1k and 48k are all fine)"
        )


def _check_channels(channels: int, source: str) -> None:
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioFormatError(f"{source}: {channels} channels is not supported; use mono or stereo")


def _int_pcm_to_int16(raw: bytes, width: int) -> np.ndarray:
    """24- and 32-bit integer PCM keep their top 16 bits."""
    if width == 2:
        return np.frombuffer(raw, dtype="<i2").astype(np.int16)
    if width == 3:
        triplets = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        # The top two bytes of a little-endian 24-bit sample are a 16-bit sample.
        return triplets[:, 1:].copy().view("<i2").reshape(-1).astype(np.int16)
    if width == 4:
        return (np.frombuffer(raw, dtype="<i4") >> 16).astype(np.int16)
    raise AudioFormatError(f"{width * 8}-bit samples are not supported")


def read_wav(path: str | Path) -> Audio:
    """Read a PCM WAV file, with a clear error for anything else.

    Accepts 16-, 24- and 32-bit integer PCM, mono or multi-channel, at any
    rate in [8 kHz, 192 kHz]. Rejects 8-bit audio: it is too coarse for
    speech recognition and is almost always a conversion mistake.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioFormatError(f"{path}: no such audio file")
    try:
        with wave.open(str(path), "rb") as reader:
            width = reader.getsampwidth()
            channels = reader.getnchannels()
            rate = reader.getframerate()
            raw = reader.readframes(reader.getnframes())
    except wave.Error as exc:
        raise AudioFormatError(
            f"{path}: not a readable PCM WAV file ({exc}); convert it with "
            f"'sox {path.name} -b 16 -e signed-integer out.wav'"
        ) from exc
    except EOFError as exc:
        raise AudioFormatError(f"{path}: the WAV file is truncated") from exc
    if width == 1:
        raise AudioFormatError(
            f"{path}: 8-bit WAV audio is not supported; record or convert to 16-bit PCM "
            f"(e.g. 'sox {path.name} -b 16 out.wav')"
        )
    _check_rate(rate, str(path))
    _check_channels(channels, str(path))
    samples = _int_pcm_to_int16(raw, width)
    usable = len(samples) - len(samples) % channels
    if usable == 0:
        raise AudioFormatError(f"{path}: the WAV file holds no audio")
    return Audio(samples[:usable].reshape(-1, channels), rate)


def read_pcm(stream: BinaryIO, rate: int, channels: int = 1) -> Audio:
    """Read all of a raw little-endian 16-bit PCM stream."""
    return Audio(next(iter_pcm_blocks(stream, rate, channels, block_frames=None)).samples, rate)


def iter_pcm_blocks(stream: BinaryIO, rate: int, channels: int = 1, block_frames: int | None = 1600) -> Iterator[Audio]:
    """Yield raw 16-bit PCM from ``stream`` in blocks, as it arrives.

    ``block_frames=None`` reads to the end and yields once.
    """
    _check_rate(rate, "raw PCM")
    _check_channels(channels, "raw PCM")
    frame_bytes = 2 * channels
    pending = b""
    wanted = -1 if block_frames is None else block_frames * frame_bytes
    while True:
        chunk = stream.read(wanted)
        if not chunk:
            break
        pending += chunk
        whole = len(pending) - len(pending) % frame_bytes
        if whole:
            samples = np.frombuffer(pending[:whole], dtype="<i2").astype(np.int16)
            pending = pending[whole:]
            yield Audio(samples.reshape(-1, channels), rate)
        if block_frames is None:
            break
    if pending:
        raise AudioFormatError("raw PCM: the stream ended in the middle of a sample frame")


def write_wav(path: str | Path, audio: Audio) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(audio.channels)
        writer.setsampwidth(2)
        writer.setframerate(audio.rate)
        writer.writeframes(audio.pcm16())
    return path


def silence(seconds: float, rate: int) -> Audio:
    return Audio(np.zeros((int(round(seconds * rate)), 1), dtype=np.int16), rate)


def concatenate(parts: list[Audio]) -> Audio:
    """Join clips of the same rate and channel count end to end."""
    if not parts:
        raise ValueError("nothing to concatenate")
    rates = {part.rate for part in parts}
    channels = {part.channels for part in parts}
    if len(rates) != 1 or len(channels) != 1:
        raise ValueError("clips must share sample rate and channel count")
    return Audio(np.concatenate([part.samples for part in parts]), parts[0].rate)


def blocks(audio: Audio, block_seconds: float = 0.1) -> Iterator[Audio]:
    """Split a clip into consecutive blocks, as a live source would deliver it."""
    size = max(1, int(round(block_seconds * audio.rate)))
    for start in range(0, audio.frames, size):
        yield Audio(audio.samples[start : start + size], audio.rate)
