"""The English voice loop end to end: synthesized speech -> whisper -> numbers -> Rasa -> spoken replies.

A worker's side of whole conversations is synthesized by our TTS into one WAV
with pauses between utterances, and ``assistant voice --input FILE.wav --tts
wav:DIR`` talks it through with the real running stack (trained Rasa model,
action server, backend). The test then checks what was understood and said,
the metadata Rasa recorded, and the encounter the backend saved.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import text

from tests.support.processes import assistant_cli
from voice.audio import Audio, concatenate, read_wav, silence, write_wav
from voice.loop import UNREACHABLE

pytestmark = [pytest.mark.stack, pytest.mark.slow]

PAUSE_SECONDS = 1.5  # between utterances: well over the endpointer's 0.7 s
STEP = re.compile(r"step (\d+) of (\d+)", re.IGNORECASE)


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


def steps(turn: dict[str, Any]) -> list[int]:
    return [int(match.group(1)) for reply in turn["replies"] for match in STEP.finditer(reply)]


def user_metadata(stack: Any, worker: str) -> list[dict[str, Any]]:
    events = stack.tracker(worker)["events"]
    return [event.get("metadata") or {} for event in events if event["event"] == "user"]


def test_checklist_by_voice(running_stack: Any, english_speech: Callable[[str], Audio], tmp_path: Path) -> None:
    worker = running_stack.new_worker()
    said = ("show me the hand hygiene checklist", "next", "repeat", "go back", "stop")
    turns = talk(
        running_stack, worker, conversation_wav(english_speech, said, tmp_path / "checklist.wav"), tmp_path / "replies"
    )

    assert [turn["sent"] for turn in turns] == list(said), transcript(turns)
    assert all(turn["mode"] == "command" and not turn["rejected"] for turn in turns)
    assert [steps(turn)[:1] for turn in turns[:4]] == [[1], [2], [2], [1]], transcript(turns)
    assert not steps(turns[4])  # "stop" leaves the checklist
    total = {int(m.group(2)) for turn in turns[:4] for r in turn["replies"] for m in STEP.finditer(r)}
    assert len(total) == 1 and total.pop() >= 4

    # Every reply was spoken into its own valid WAV file, in order.
    files = sorted((tmp_path / "replies").glob("*.wav"))
    assert len(files) == sum(len(turn["replies"]) for turn in turns)
    assert all(read_wav(path).duration > 0.3 for path in files)

    # Rasa recorded the voice metadata the contract names.
    recorded = user_metadata(running_stack, worker)
    assert len(recorded) == len(said)
    for metadata in recorded:
        assert metadata["channel"] == "voice" and metadata["input_mode"] == "command"
        assert metadata["language"] == "en" and 0.0 < metadata["asr_confidence"] <= 1.0


def test_the_days_follow_ups_by_voice(
    running_stack: Any, english_speech: Callable[[str], Audio], tmp_path: Path
) -> None:
    """A follow-up due today, asked for by voice ("what is due today"), is heard as the worker wrote it."""
    worker = running_stack.new_worker()
    added = requests.post(
        running_stack.backend_url + "/tasks",
        json={"task": "recheck the BP of the pregnant woman", "patient_ref": "8830", "in_days": 0},
        headers={"Authorization": f"Bearer {running_stack.worker_token(worker)}"},
        timeout=30,
    )
    assert added.status_code == 201, added.text
    said = ("what is due today",)
    turns = talk(running_stack, worker, conversation_wav(english_speech, said, tmp_path / "day.wav"), tmp_path / "r")

    assert [turn["sent"] for turn in turns] == list(said), transcript(turns)
    heard = " ".join(turns[0]["replies"])
    assert "recheck the BP of the pregnant woman" in heard and "8830" in heard, transcript(turns)


ENCOUNTER = (
    "log a new encounter",
    "patient id four five two one",
    "age thirty two",
    "female",
    "fever and cough for three days",
    "blood pressure one hundred forty over ninety temperature ninety eight point six pulse eighty eight",
    "no",  # no notes
    "yes",
)


def test_encounter_by_voice(running_stack: Any, english_speech: Callable[[str], Audio], tmp_path: Path) -> None:
    worker = running_stack.new_worker()
    turns = talk(
        running_stack,
        worker,
        conversation_wav(english_speech, ENCOUNTER, tmp_path / "encounter.wav"),
        tmp_path / "replies",
    )
    sent = [turn["sent"] for turn in turns]
    said = transcript(turns)
    # Spoken numbers reached the NLU as digits.
    assert "patient id 4521" in sent and "age 32" in sent, said
    assert "blood pressure 140/90 temperature 98.6 pulse 88" in sent, said
    # The complaint was asked for, so it was heard in dictation mode.
    complaint = next(turn for turn in turns if "fever" in (turn["sent"] or ""))
    assert complaint["mode"] == "dictation", said
    # It was read back before "yes" saved it.
    readback = " ".join(turns[-2]["replies"]).lower()
    assert "4521" in readback and "32 years" in readback, said

    with running_stack.backend_db.connect() as connection:
        rows = (
            connection.execute(text("SELECT * FROM encounters WHERE worker_id = :worker"), {"worker": worker})
            .mappings()
            .all()
        )
    assert len(rows) == 1, said
    saved = dict(rows[0])
    assert saved["patient_ref"] == "4521" and saved["age_years"] == 32 and saved["sex"] == "female"
    assert "fever" in saved["complaint"] and "cough" in saved["complaint"]
    assert (saved["systolic_bp"], saved["diastolic_bp"], saved["pulse"]) == (140, 90, 88)
    assert saved["temperature_c"] == pytest.approx((98.6 - 32) * 5 / 9, abs=0.05)  # spoken in °F, stored in °C
    assert saved["channel"] == "voice"


def test_with_rasa_unreachable_every_turn_is_still_answered(
    english_speech: Callable[[str], Audio], tmp_path: Path
) -> None:
    """Nothing listens where Rasa should be: the worker hears that, turn after turn, and the loop goes on."""
    from tests.support.processes import free_port

    wav = conversation_wav(english_speech, ("show me the hand hygiene checklist", "next"), tmp_path / "unreachable.wav")
    nowhere = f"http://127.0.0.1:{free_port()}"
    turns = talk(None, "W001", wav, tmp_path / "replies", rasa_url=nowhere)
    assert [turn["replies"] for turn in turns] == [[UNREACHABLE["en"]]] * 2
    assert len(list((tmp_path / "replies").glob("*.wav"))) == 2  # each one spoken


def test_a_turn_whose_action_cannot_run_is_spoken_as_an_apology(
    running_stack: Any, english_speech: Callable[[str], Audio], tmp_path: Path
) -> None:
    import signal

    worker = running_stack.new_worker()
    wav = conversation_wav(english_speech, ("log a new encounter",), tmp_path / "down.wav")
    process = running_stack.supervisor.processes["actions"].process
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    try:
        (turn,) = talk(running_stack, worker, wav, tmp_path / "replies")
    finally:
        running_stack.supervisor.start("actions")
    assert turn["replies"] == ["Sorry, I could not do that just now. Please say it again."]
    (spoken,) = (tmp_path / "replies").glob("*.wav")
    assert read_wav(spoken).duration > 1.0
