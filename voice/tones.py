"""Short earcons: a rising tone says "listening", a falling one says "stopped"."""

from __future__ import annotations

import numpy as np

from voice.audio import Audio

TONE_RATE = 22_050
_STEPS = {"listening": (660.0, 880.0), "stop": (880.0, 587.0)}


def tone(kind: str, rate: int = TONE_RATE, step_seconds: float = 0.08, level: float = 0.25) -> Audio:
    """Two short sine steps with 10 ms fades (no clicks), about 0.2 s in all."""
    if kind not in _STEPS:
        raise ValueError(f"unknown tone {kind!r}; choose from {', '.join(_STEPS)}")
    n = int(rate * step_seconds)
    t = np.arange(n) / rate
    fade = np.minimum(1.0, np.minimum(np.arange(n), np.arange(n)[::-1]) / (0.01 * rate))
    steps = [np.sin(2 * np.pi * frequency * t) * fade for frequency in _STEPS[kind]]
    gap = np.zeros(int(0.02 * rate))
    wave = np.concatenate([steps[0], gap, steps[1]]) * level * 32767
    return Audio.from_mono(np.round(wave).astype(np.int16), rate)
