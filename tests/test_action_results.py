"""The action server's answers are checked exactly as Rasa checked them, with a validator compiled once."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

# Rasa's actions (and assistant.rasa_server's extensions of them) load TensorFlow: imported by the tests that
# run, not by every test process that only collects this module.

ANSWERS: list[dict[str, Any]] = [
    {"events": [{"event": "slot", "name": "language", "value": "hi"}], "responses": [{"text": "नमस्ते"}]},
    {"events": [], "responses": []},
    {"events": [{"event": "no_such_event"}], "responses": []},
    {"events": [{"name": "language"}], "responses": []},
    {"events": "not a list", "responses": []},
    {"events": [], "responses": ["not an object"]},
    {"events": [{"event": "slot", "name": "language", "value": "hi", "timestamp": "yesterday"}]},
]


@pytest.mark.parametrize("answer", ANSWERS)
def test_the_compiled_check_agrees_with_jsonschema_validate(answer: dict[str, Any]) -> None:
    from rasa.core.actions.action import RemoteAction

    from assistant.rasa_server import action_results

    try:
        jsonschema.validate(answer, RemoteAction.action_response_format_spec())
        expected = None
    except jsonschema.ValidationError as exc:
        expected = exc.message
    action = RemoteAction("action_anything", None)
    if expected is None:
        assert action_results.validate_action_result(action, answer) is True
    else:
        with pytest.raises(jsonschema.ValidationError) as raised:
            action_results.validate_action_result(action, answer)
        assert raised.value.message.startswith(expected + ". Failed to validate Action server response")


def test_install_replaces_rasas_check_once() -> None:
    from rasa.core.actions.action import RemoteAction

    from assistant.rasa_server import action_results

    action_results.install()
    action_results.install()
    action = RemoteAction("action_anything", None)
    assert action._validate_action_result(ANSWERS[0]) is True
    with pytest.raises(jsonschema.ValidationError):
        action._validate_action_result(ANSWERS[2])
