"""Numbers said in words reach /model/parse as digits, joined when the tagger split them."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from rasa.shared.nlu.training_data.message import Message

from assistant.nlu.number_entities import SpokenNumberEntities
from tests.support.stack import RunningStack


def _entity(text: str, kind: str, piece: str) -> dict[str, Any]:
    start = text.index(piece)
    return {"entity": kind, "value": piece, "start": start, "end": start + len(piece)}


def processed(text: str, *pieces: tuple[str, str]) -> list[tuple[str, str]]:
    message = Message.build(text)
    message.set("entities", [_entity(text, kind, piece) for kind, piece in pieces])
    SpokenNumberEntities(SpokenNumberEntities.get_default_config()).process([message])
    return [(entity["entity"], entity["value"]) for entity in message.get("entities")]


@pytest.mark.parametrize(
    "text, pieces, expected",
    [
        ("she is forty five years old", [("age", "forty"), ("age", "five")], [("age", "45")]),
        ("pachees saal", [("age", "pachees")], [("age", "25")]),
        ("umar ek sau das", [("age", "ek sau das")], [("age", "110")]),
        ("patient four five two one", [("patient_id", "four five two one")], [("patient_id", "4521")]),
        ("patient number 45 21", [("patient_id", "45"), ("patient_id", "21")], [("patient_id", "4521")]),
        ("go to step three", [("step_number", "three")], [("step_number", "3")]),
        # Left alone: ids with a prefix, other kinds, and pieces with words between them.
        ("patient P-1122", [("patient_id", "P-1122")], [("patient_id", "P-1122")]),
        ("patient 7781 ke liye", [("patient_id", "7781 ke")], [("patient_id", "7781")]),
        ("bp one forty over ninety", [("bp", "one forty over ninety")], [("bp", "one forty over ninety")]),
        ("age 45 and 30 days", [("age", "45"), ("age", "30")], [("age", "45"), ("age", "30")]),
        ("age unknown", [("age", "unknown")], [("age", "unknown")]),
    ],
)
def test_number_words_become_digits(text: str, pieces: list[tuple[str, str]], expected: list[tuple[str, str]]) -> None:
    assert processed(text, *pieces) == expected


@pytest.mark.stack
def test_model_parse_reports_spoken_numbers_as_digits(running_stack: RunningStack) -> None:
    parsed = requests.post(
        f"{running_stack.rasa_url}/model/parse",
        params={"token": running_stack.rasa_token},
        json={"text": "log encounter patient four five two one age forty five female"},
        timeout=60,
    ).json()
    values = {entity["entity"]: entity["value"] for entity in parsed["entities"]}
    assert values.get("patient_id") == "4521" and values.get("age") == "45"


def _asked_for_a_step(text: str, intent: str = "goto_step") -> list[tuple[str, str]]:
    message = Message.build(text)
    message.set("intent", {"name": intent, "confidence": 0.9})
    message.set("entities", [])
    SpokenNumberEntities(SpokenNumberEntities.get_default_config()).process([message])
    return [(entity["entity"], entity["value"]) for entity in message.get("entities")]


@pytest.mark.parametrize(
    "text, step",
    [
        ("chhathe step par le chalo", "6"),
        ("आठवें स्टेप पर चलो", "8"),
        ("straight to the twelfth one", "12"),
        ("step pandrah", "15"),
        ("the 3rd step", "3"),
    ],
)
def test_a_step_asked_for_by_number_gets_it_when_the_tagger_missed_it(text: str, step: str) -> None:
    assert _asked_for_a_step(text) == [("step_number", step)]


def test_only_a_step_request_gets_a_step_filled() -> None:
    assert _asked_for_a_step("teesre din se bukhar", intent="inform") == []
    assert _asked_for_a_step("go to that step") == []
