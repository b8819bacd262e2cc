"""The English voice loop end to end: synthesized speech -> whisper -> numbers -> Rasa -> spoken replies.

A worker's side of whole conversations is synthesized by our TTS into one WAV
with pauses between utterances, and ``assistant voice --input FILE.wav --tts
wav:DIR`` talks it through with the real running stack (trained Rasa model,
action server, backend). The test then checks what was understood and said,
the metadata Rasa recorded, and the encounter the backend saved.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.voice.talking import conversation_wav, talk, transcript
from voice.audio import Audio, read_wav
from voice.loop import UNREACHABLE

pytestmark = [pytest.mark.stack, pytest.mark.slow]

STEP = re.compile(r"step (\d+) of (\d+)", re.IGNORECASE)


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
