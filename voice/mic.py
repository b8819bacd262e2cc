"""The microphone, through sounddevice / PortAudio.

PortAudio calls back on its own thread with each block; we only queue it
there (no work in the audio callback) and the loop converts and endpoints on
its side. Capture runs at the recognizer's rate when the device allows it,
else at the device's own rate and ``voice.resample`` converts.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any

import numpy as np

from voice.audio import Audio
from voice.errors import AudioDeviceError

BLOCK_SECONDS = 0.05


class Microphone:
    live = True
    exhausted = False  # a microphone never runs out

    def __init__(self, preferred_rate: int = 16_000, device: Any = None) -> None:
        import sounddevice

        self._sd = sounddevice
        self.device = device
        try:
            info = sounddevice.query_devices(device, "input")
        except (sounddevice.PortAudioError, ValueError) as exc:
            raise AudioDeviceError(f"no microphone found ({exc}); plug in a headset, or use --input FILE.wav") from exc
        try:
            sounddevice.check_input_settings(device=device, samplerate=preferred_rate, channels=1, dtype="int16")
            self.rate = preferred_rate
        except (sounddevice.PortAudioError, ValueError):
            self.rate = int(info["default_samplerate"])
        self._queue: queue.Queue[np.ndarray] = queue.Queue()
        self._stream: Any = None
        self.overflows = 0

    def _callback(self, indata: np.ndarray, frames: int, time: Any, status: Any) -> None:
        if status and status.input_overflow:
            self.overflows += 1
        self._queue.put(indata.copy())

    def __enter__(self) -> Microphone:
        try:
            self._stream = self._sd.InputStream(
                samplerate=self.rate,
                channels=1,
                dtype="int16",
                device=self.device,
                blocksize=int(self.rate * BLOCK_SECONDS),
                callback=self._callback,
            )
            self._stream.start()
        except (self._sd.PortAudioError, ValueError) as exc:
            raise AudioDeviceError(f"cannot open the microphone: {exc}") from exc
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None

    def read(self, timeout: float | None = None) -> Audio | None:
        """The next block, or None when none came within ``timeout`` seconds."""
        try:
            return Audio(self._queue.get(timeout=timeout), self.rate)
        except queue.Empty:
            return None

    def drain(self) -> int:
        """Drop everything captured so far (what the mic heard while we were busy)."""
        dropped = 0
        while True:
            try:
                self._queue.get_nowait()
                dropped += 1
            except queue.Empty:
                return dropped

    def blocks(self) -> Iterator[Audio]:
        while self._stream is not None:
            block = self.read(timeout=0.5)
            if block is not None:
                yield block
