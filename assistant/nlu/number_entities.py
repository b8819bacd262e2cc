"""Rasa pipeline component: numbers said in words become digits in entity values.

The tagger marks "forty five" in "a forty five year old man" as an age, often
as two entities ("forty", "five"), and a patient id read out digit by digit
("four five two one", "45 21") the same way. Whoever reads ``/model/parse``
(the forms, outside evaluation, the supervisor console) should see ``45`` and
``4521``. Adjacent pieces of one kind are joined, then the words are read with
the same normaliser the forms and the voice loop use
(``assistant.core.spoken_numbers``). When the intent asks for a step by
number ("nauve step par jao") and the tagger marked none, the one number or
ordinal in the text becomes the step number.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from assistant.core.spoken_numbers import normalise_numbers, parse_number

_GAP_RE = re.compile(r"[\s,-]*")
_WORD_RE = re.compile(r"\S+")
_DIGIT_GAP_RE = re.compile(r"(?<=\d)[\s-]+(?=\d)")
# The id in a tagged span that took a word along ("7781 ke"): an optional letter prefix, then digits.
_ID_RE = re.compile(r"(?<![A-Za-z])(?:[A-Za-z]{1,4}-?)?\d+")


def _count(span: str) -> str | None:
    """An age or a step number: "pachees" -> "25", "forty five" -> "45"."""
    number = parse_number(span)
    if number is None:
        return None
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def _identifier(span: str) -> str | None:
    """A patient id: "four five two one" -> "4521", "45 21" -> "4521"; "P-1122" stays; "7781 ke" -> "7781"."""
    digits = _DIGIT_GAP_RE.sub("", normalise_numbers(span))
    found = _ID_RE.search(digits)
    return found.group() if found else None


READERS: dict[str, Callable[[str], str | None]] = {"age": _count, "step_number": _count, "patient_id": _identifier}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class SpokenNumberEntities(GraphComponent, EntityExtractorMixin):
    """Joins split number entities and writes their values as digits."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # fill_in: intent -> the number kind its sentence always holds.
        return {"entities": list(READERS), "fill_in": {"goto_step": "step_number"}}

    def __init__(self, config: dict[str, Any]) -> None:
        self._kinds = [kind for kind in config.get("entities") or [] if kind in READERS]
        self._fill_in: dict[str, str] = dict(config.get("fill_in") or {})

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SpokenNumberEntities:
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            entities = self._joined(text, message.get(ENTITIES, [])) + self._filled_in(message)
            for entity in entities:
                if entity.get("entity") not in self._kinds or "start" not in entity:
                    continue
                value = READERS[entity["entity"]](text[entity["start"] : entity["end"]])
                if value is not None and value != entity.get("value"):
                    entity["value"] = value
                    self.add_processor_name(entity)
            message.set(ENTITIES, entities)
        return messages

    def _filled_in(self, message: Message) -> list[dict[str, Any]]:
        kind = self._fill_in.get(str((message.get(INTENT) or {}).get(INTENT_NAME_KEY)))
        if kind is None or any(entity.get("entity") == kind for entity in message.get(ENTITIES, [])):
            return []
        text = message.get(TEXT) or ""
        value = READERS[kind](text)
        words = [m for m in _WORD_RE.finditer(text) if parse_number(m.group()) is not None]
        if value is None or not words:
            return []
        entity = {"entity": kind, "start": words[0].start(), "end": words[-1].end(), "value": value}
        self.add_extractor_name([entity])
        return [entity]

    def _joined(self, text: str, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Neighbouring pieces of one number kind, with only spaces, commas or hyphens between, become one."""
        ordered = sorted(entities, key=lambda entity: entity.get("start", -1))
        joined: list[dict[str, Any]] = []
        for entity in ordered:
            previous = joined[-1] if joined else None
            if (
                previous is not None
                and entity.get("entity") in self._kinds
                and previous.get("entity") == entity.get("entity")
                and "end" in previous
                and "start" in entity
                and _GAP_RE.fullmatch(text[previous["end"] : entity["start"]])
            ):
                previous["end"] = entity["end"]
                previous["value"] = text[previous["start"] : entity["end"]]
                self.add_processor_name(previous)
                continue
            joined.append(entity)
        return joined
