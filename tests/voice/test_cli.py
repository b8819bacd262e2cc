"""``assistant transcribe`` and ``assistant models`` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.voice.conftest import KOREAN_PHRASES, convert
from voice.audio import Audio, write_wav

pytestmark = pytest.mark.slow


def assistant(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_transcribe_prints_json(korean_model_dir: Path, korean_speech: Callable[[str], Audio], tmp_path: Path) -> None:
    phrase = KOREAN_PHRASES[0]
    clip = write_wav(tmp_path / "command.wav", convert(korean_speech(phrase), 44100, channels=2))
    done = assistant("transcribe", str(clip), "--engine", "vosk", "--model", str(korean_model_dir), data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["text"] and report["words"]  # open vocabulary (--grammar none) hears Korean words
    assert all(0 < w["conf"] <= 1 and w["start"] < w["end"] for w in report["words"])
    assert report["audio_duration"] == pytest.approx(korean_speech(phrase).duration, abs=0.01)
    assert report["decode_time"] > 0
    assert report["real_time_factor"] == pytest.approx(report["decode_time"] / report["audio_duration"], abs=0.01)
    assert report["mode"] == "dictation" and report["engine"] == "vosk"


def test_transcribe_with_the_command_grammar(
    korean_model_dir: Path, korean_engine, tmp_path: Path, korean_speech: Callable[[str], Audio]
) -> None:
    """The project's command grammar is English: on a Korean model it keeps only the few
    words the model shares with it, and every word heard is one of them or unknown."""
    from voice.engine import UNKNOWN_WORD
    from voice.grammar import build_command_vocabulary, vosk_grammar

    allowed = set(vosk_grammar(build_command_vocabulary(), korean_engine.knows_word, None)) | {UNKNOWN_WORD}
    clip = write_wav(tmp_path / "command.wav", korean_speech(KOREAN_PHRASES[0]))
    done = assistant(
        "transcribe",
        str(clip),
        "--engine",
        "vosk",
        "--model",
        str(korean_model_dir),
        "--grammar",
        "command",
        data_dir=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["mode"] == "command"
    assert {w["word"] for w in report["words"]} <= allowed


@pytest.mark.parametrize("problem", ["8-bit", "text", "missing model"])
def test_transcribe_explains_bad_input(problem: str, tmp_path: Path) -> None:
    target = tmp_path / "input.wav"
    if problem == "8-bit":
        with wave.open(str(target), "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(1)
            writer.setframerate(16000)
            writer.writeframes(bytes(16000))
        expected = "8-bit WAV audio is not supported"
    elif problem == "text":
        target.write_text("this is not audio")
        expected = "not a readable PCM WAV file"
    else:
        write_wav(target, Audio.from_mono(__import__("numpy").zeros(1600, dtype="int16"), 16000))
        expected = "no Vosk model is installed.*assistant models download small-en-in"
    args = ["transcribe", str(target)] + (["--engine", "vosk"] if problem == "missing model" else [])
    done = assistant(*args, data_dir=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    import re

    assert re.search(f"error: .*{expected}", done.stderr), done.stderr


def test_models_list_shows_the_registry_and_how_to_install(tmp_path: Path) -> None:
    done = assistant("models", "list", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    for name in ("vosk-model-small-en-in-0.4", "vosk-model-small-en-us-0.15", "vosk-model-small-hi-0.22"):
        assert name in done.stdout
    assert "not installed" in done.stdout and "assistant models download small-en-in" in done.stdout
