"""A real voice note: speech synthesised by espeak-ng (pyttsx3), encoded as WhatsApp does (OGG/Opus)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from assistant.core.config import PROJECT_DIR
from voice.audio import read_wav

OPUS_RATE = 48_000  # Opus runs at 48 kHz internally; WhatsApp's voice notes are OGG/Opus mono


def _speech(text: str, language: str, rate: int) -> tuple[np.ndarray, int]:
    """Synthesised in a fresh process (tests/voice/synthesize.py), so the audio is the same on every run."""
    with tempfile.TemporaryDirectory(prefix="voice-note-") as scratch:
        subprocess.run(
            [sys.executable, "-m", "tests.voice.synthesize", scratch],
            input=json.dumps([[language, rate, text]]),
            text=True,
            check=True,
            cwd=PROJECT_DIR,
            capture_output=True,
            timeout=120,
        )
        audio = read_wav(Path(scratch) / "000.wav")
    return audio.mono(), audio.rate


def spoken_ogg_opus(text: str, language: str = "en", rate: int = 150) -> bytes:
    import av

    samples, sample_rate = _speech(text, language, rate)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=OPUS_RATE, layout="mono")
        resampler = av.AudioResampler(format="s16", layout="mono", rate=OPUS_RATE)
        frame = av.AudioFrame.from_ndarray(samples.astype(np.int16).reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = sample_rate
        for converted in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(converted):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()
