"""Streaming sample-rate conversion.

Microphones and files come at 8, 16, 22.05, 44.1 or 48 kHz; recognizers want
16 kHz mono. Audio arrives in blocks, so the converter keeps its state between
blocks: a low-pass filter (against aliasing when going down, against images
when going up) and the fractional read position of a linear interpolator.
That is plenty for speech recognition and has no block-edge clicks.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from voice.audio import Audio

# Cut at 90 % of the lower Nyquist frequency: keeps all of the speech band
# (< 7.2 kHz at 16 kHz) and leaves room for the filter's roll-off.
_CUTOFF_FRACTION = 0.9
_FILTER_ORDER = 8


class Resampler:
    """Convert a stream of mono int16 blocks from ``rate_in`` to ``rate_out``."""

    def __init__(self, rate_in: int, rate_out: int) -> None:
        self.rate_in = rate_in
        self.rate_out = rate_out
        self._passthrough = rate_in == rate_out
        low = min(rate_in, rate_out)
        filter_rate = max(rate_in, rate_out)
        cutoff = _CUTOFF_FRACTION * (low / 2) / (filter_rate / 2)
        self._sos = signal.butter(_FILTER_ORDER, cutoff, output="sos")
        self._zi = np.zeros((self._sos.shape[0], 2))
        self._consumed = 0  # input samples seen before the current block
        self._produced = 0  # output samples emitted so far
        self._previous: float | None = None  # last input sample of the previous block

    def _lowpass(self, samples: np.ndarray) -> np.ndarray:
        filtered, self._zi = signal.sosfilt(self._sos, samples, zi=self._zi)
        return filtered

    def _interpolate(self, block: np.ndarray) -> np.ndarray:
        if self._previous is None:
            extended, first_index = block, self._consumed
        else:
            extended, first_index = np.concatenate(([self._previous], block)), self._consumed - 1
        last_index = self._consumed + len(block) - 1
        # Output n sits at input time n * rate_in / rate_out; emit every one
        # whose right-hand neighbour has arrived (integer maths: no drift).
        last_output = (last_index * self.rate_out) // self.rate_in
        count = max(0, last_output - self._produced + 1)
        n = np.arange(self._produced, self._produced + count, dtype=np.int64)
        whole = (n * self.rate_in) // self.rate_out
        fraction = ((n * self.rate_in) % self.rate_out) / self.rate_out
        local = whole - first_index
        right = np.minimum(local + 1, len(extended) - 1)
        out = extended[local] * (1.0 - fraction) + extended[right] * fraction
        self._produced += count
        self._consumed += len(block)
        self._previous = float(block[-1])
        return out

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Resample one block of mono int16 samples; returns int16."""
        if self._passthrough or len(samples) == 0:
            return np.asarray(samples, dtype=np.int16)
        block = samples.astype(np.float64)
        if self.rate_out < self.rate_in:
            out = self._interpolate(self._lowpass(block))
        else:
            out = self._lowpass(self._interpolate(block))
        return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def to_mono_rate(audio: Audio, rate: int) -> np.ndarray:
    """A whole clip as mono int16 at ``rate``."""
    return Resampler(audio.rate, rate).process(audio.mono())


class StreamConverter:
    """Blocks of any rate and channel count in, mono int16 at the target rate out."""

    def __init__(self, target_rate: int) -> None:
        self.target_rate = target_rate
        self._resampler: Resampler | None = None

    def convert(self, block: Audio) -> np.ndarray:
        if self._resampler is None or self._resampler.rate_in != block.rate:
            self._resampler = Resampler(block.rate, self.target_rate)
        return self._resampler.process(block.mono())
