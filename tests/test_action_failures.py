"""The apology for an action that could not run is said in the worker's language, even when nothing renders."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from assistant.core.config import PROJECT_DIR

# assistant.rasa_server.action_failures loads Rasa's actions, and they TensorFlow: imported by the tests that
# run, not by every test process that only collects this module.


class BrokenGenerator:
    """A response generator that fails: the apology falls back on its own words."""

    async def generate(self, *_: Any, **__: Any) -> dict[str, Any]:
        raise RuntimeError("cannot render")


@pytest.mark.parametrize(
    "said, language, expected",
    [("mera consult kab hai", "en", "hi"), ("what is my consult status", "hi", "en"), ("next", "hi", "hi")],
)
async def test_the_fallback_apology_is_in_the_language_of_the_message(said: str, language: str, expected: str) -> None:
    from rasa.core.channels.channel import CollectingOutputChannel

    from assistant.rasa_server.action_failures import FALLBACK_TEXT, rewind_with_apology

    domain = Domain.load(PROJECT_DIR / "domain.yml")
    tracker = DialogueStateTracker.from_events("W001", [SlotSet("language", language), UserUttered(said)], domain.slots)
    events = await rewind_with_apology(tracker, domain, CollectingOutputChannel(), BrokenGenerator())
    assert isinstance(events[0], BotUttered) and events[0].text == FALLBACK_TEXT[expected]
