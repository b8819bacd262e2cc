"""Audio in: WAV and raw PCM reading, format errors, resampling."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
import pytest
from scipy import signal
from scipy.io import wavfile

from voice.audio import Audio, iter_pcm_blocks, read_pcm, read_wav, write_wav
from voice.errors import AudioFormatError
from voice.resample import Resampler, StreamConverter, to_mono_rate

RATES = (8000, 16000, 22050, 44100, 48000)


def tone(rate: int, seconds: float = 1.0, frequency: float = 440.0, channels: int = 1) -> Audio:
    t = np.arange(int(rate * seconds)) / rate
    mono = np.round(12000 * np.sin(2 * np.pi * frequency * t)).astype(np.int16)
    return Audio(np.repeat(mono[:, None], channels, axis=1), rate)


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


@pytest.mark.parametrize("channels", [1, 2])
def test_wav_round_trip(tmp_path: Path, channels: int) -> None:
    clip = tone(22050, channels=channels)
    loaded = read_wav(write_wav(tmp_path / "clip.wav", clip))
    assert loaded.rate == 22050 and loaded.channels == channels
    assert np.array_equal(loaded.samples, clip.samples)


@pytest.mark.parametrize("width", [3, 4])
def test_wider_integer_pcm_keeps_its_top_16_bits(tmp_path: Path, width: int) -> None:
    clip = tone(16000)
    wide = clip.samples[:, 0].astype(np.int64) << (8 * (width - 2))
    raw = b"".join(int(v).to_bytes(width, "little", signed=True) for v in wide)
    with wave.open(str(tmp_path / "wide.wav"), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(width)
        writer.setframerate(16000)
        writer.writeframes(raw)
    assert np.array_equal(read_wav(tmp_path / "wide.wav").samples, clip.samples)


def test_8_bit_wav_is_refused_with_advice(tmp_path: Path) -> None:
    with wave.open(str(tmp_path / "coarse.wav"), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(1)
        writer.setframerate(8000)
        writer.writeframes(bytes(range(256)) * 40)
    with pytest.raises(AudioFormatError, match="8-bit .*16-bit"):
        read_wav(tmp_path / "coarse.wav")


def test_a_file_that_is_not_a_wav_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.wav").write_text("patient complains of fever\n")
    with pytest.raises(AudioFormatError, match="not a readable PCM WAV"):
        read_wav(tmp_path / "notes.wav")


def test_float_wav_is_refused(tmp_path: Path) -> None:
    wavfile.write(tmp_path / "float.wav", 16000, np.zeros(1600, dtype=np.float32))
    with pytest.raises(AudioFormatError, match="not a readable PCM WAV"):
        read_wav(tmp_path / "float.wav")


def test_empty_and_missing_files_are_refused(tmp_path: Path) -> None:
    write_wav(tmp_path / "empty.wav", Audio(np.zeros((0, 1), dtype=np.int16), 16000))
    with pytest.raises(AudioFormatError, match="no audio"):
        read_wav(tmp_path / "empty.wav")
    with pytest.raises(AudioFormatError, match="no such audio file"):
        read_wav(tmp_path / "absent.wav")


def test_unusual_sample_rate_is_refused(tmp_path: Path) -> None:
    with wave.open(str(tmp_path / "slow.wav"), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(4000)
        writer.writeframes(b"\0\0" * 4000)
    with pytest.raises(AudioFormatError, match="4000 Hz"):
        read_wav(tmp_path / "slow.wav")


def test_raw_pcm_stream_in_blocks() -> None:
    clip = tone(16000, channels=2)
    stream = io.BytesIO(clip.pcm16())
    parts = list(iter_pcm_blocks(stream, 16000, channels=2, block_frames=1000))
    assert len(parts) == 16
    assert np.array_equal(np.concatenate([part.samples for part in parts]), clip.samples)
    assert np.array_equal(read_pcm(io.BytesIO(clip.pcm16()), 16000, 2).samples, clip.samples)


def test_raw_pcm_cut_mid_frame_is_an_error() -> None:
    with pytest.raises(AudioFormatError, match="middle of a sample frame"):
        list(iter_pcm_blocks(io.BytesIO(b"\0\0\0"), 16000, channels=1))


def test_stereo_is_mixed_by_averaging() -> None:
    left = np.full(100, 20000, dtype=np.int16)
    right = np.full(100, 30000, dtype=np.int16)
    mixed = Audio(np.stack([left, right], axis=1), 16000).mono()
    assert mixed.dtype == np.int16 and np.all(mixed == 25000)  # no overflow past 32767


@pytest.mark.parametrize("rate", RATES)
def test_resampling_to_16k_keeps_pitch_and_level(rate: int) -> None:
    out = to_mono_rate(tone(rate, frequency=1000.0), 16000)
    assert abs(len(out) - 16000) <= 1
    steady = out[2000:-2000]
    assert dominant_frequency(steady, 16000) == pytest.approx(1000.0, abs=2.0)
    assert np.std(steady) == pytest.approx(12000 / np.sqrt(2), rel=0.05)


@pytest.mark.parametrize("rate", RATES)
def test_resampling_matches_a_polyphase_reference(rate: int) -> None:
    """Speech-like content (several tones) has the same spectrum as after SciPy's
    linear-phase polyphase filter. (Our streaming IIR filter shifts phase, which
    recognizers ignore, so waveforms are not compared.)"""
    t = np.arange(rate) / rate
    mixture = sum(np.sin(2 * np.pi * f * t) for f in (220, 700, 1900, 3100)) * 6000
    samples = np.round(mixture).astype(np.int16)
    ours = to_mono_rate(Audio.from_mono(samples, rate), 16000).astype(np.float64)
    gcd = np.gcd(rate, 16000)
    reference = signal.resample_poly(samples.astype(np.float64), 16000 // gcd, rate // gcd)
    n = min(len(ours), len(reference))
    spectrum = [np.abs(np.fft.rfft(x[2000 : n - 2000])) for x in (ours, reference)]
    assert np.corrcoef(*spectrum)[0, 1] > 0.98


def test_resampling_in_blocks_equals_resampling_at_once() -> None:
    clip = tone(44100, seconds=2.0)
    whole = Resampler(44100, 16000).process(clip.mono())
    streaming = Resampler(44100, 16000)
    parts = [streaming.process(clip.mono()[i : i + 777]) for i in range(0, clip.frames, 777)]
    assert np.array_equal(np.concatenate(parts), whole)


def test_stream_converter_follows_a_change_of_input_rate() -> None:
    converter = StreamConverter(16000)
    first = converter.convert(tone(48000, seconds=0.5, channels=2))
    second = converter.convert(tone(8000, seconds=0.5))
    assert abs(len(first) - 8000) <= 1 and abs(len(second) - 8000) <= 1
