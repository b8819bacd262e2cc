"""Talking to a running stack by voice, as the outside check does: synthesized speech in, ``assistant voice`` through.

A worker's side of a conversation is synthesized by our TTS into one WAV with
pauses between utterances; ``assistant voice --input FILE.wav --tts wav:DIR``
talks it through (whisper, the stack's Rasa, spoken replies into DIR) and
prints one JSON line per turn.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.processes import assistant_cli
from voice.audio import Audio, concatenate, silence, write_wav

PAUSE_SECONDS = 1.5  # between utterances: well over the endpointer's 0.7 s


def conversation_wav(speech: Callable[[str], Audio], phrases: tuple[str, ...], path: Path) -> Path:
    rate = speech(phrases[0]).rate
    parts = [silence(0.5, rate)]
    for phrase in phrases:
        parts += [speech(phrase), silence(PAUSE_SECONDS, rate)]
    return write_wav(path, concatenate(parts))


def _voice_env(stack: Any, data_dir: Path) -> dict[str, str]:
    """The worker's token comes from the stack's database, as on the clinic machine (or a seeded one of its own)."""
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(data_dir)}
    if stack is not None:
        return {**env, "ASSISTANT_DB_URL": stack.backend_db_url}
    assistant_cli("seed", env=env)
    return env


def talk(stack: Any, worker: str, wav: Path, replies: Path, rasa_url: str | None = None) -> list[dict[str, Any]]:
    """``assistant voice`` as the outside check runs it; one JSON line per turn."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "voice",
            "--input",
            str(wav),
            "--tts",
            f"wav:{replies}",
            "--engine",
            "whisper",
            "--worker",
            worker,
            "--rasa-url",
            rasa_url or stack.rasa_url,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=_voice_env(stack, wav.parent),
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def transcript(turns: list[dict[str, Any]]) -> str:
    """The conversation as heard and answered, for assertion messages."""
    return "\n".join(
        f"  [{t['mode']}, {t['confidence']}] {t['sent'] or '(rejected: ' + t['heard'] + ')'}"
        f" -> {' | '.join(t['replies'])}"
        for t in turns
    )
