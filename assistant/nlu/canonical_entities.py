"""Rasa pipeline component: entity values of closed vocabularies become canonical.

Runs after ``EntitySynonymMapper``. An extracted span such as "bachon ka
docter" that no synonym matched exactly is resolved by ``Canonicaliser``
(spelling-tolerant) to ``pediatrics``. A span that resolves to nothing is
dropped: for a closed vocabulary it means nothing, and a slot filled from it
would hide the value that was said.

When the intent opens a flow ("nak kaan gala wale doctor chahiye") and the
statistical extractor tagged nothing of a kind that flow needs, a known phrase
of that kind found verbatim in the text, or a description of it ("gurdon ke
doctor", "patti badalne ka tarika": ``assistant.core.descriptions``), becomes
the entity, so the flow does not ask for what the worker already said. An
answer ("dil", "the eye one", "बच्चे") gets its entity the same way, but only
when it says nothing else.

Such a specialty said alone is an answer whatever the classifier thought of
it: a short word's character n-grams can sound like a step command ("bacche"
like "peeche") or like nothing it knows ("दिल" below the fallback threshold).
So when the whole text names one specialty and nothing else, and the intent is
a step command, out of scope or unsure, the intent becomes ``inform``. Stop
and help are never overruled.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from assistant.core.canonical import KINDS, Canonicaliser
from assistant.nlu.whole_word_featurizer import NO_KNOWN_WORD

_FILENAME = "synonyms.json"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class CanonicalEntityMapper(GraphComponent, EntityExtractorMixin):
    """Maps closed-vocabulary entity values onto the canonical values."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "entities": list(KINDS),
            # intent -> kinds filled from known phrases when nothing was tagged.
            # Not for answers (inform): a reason such as "child has fever" must
            # not re-choose the specialty mid-form.
            "fill_in": {
                "request_consult": ["specialty", "urgency"],
                "cancel_consult": ["specialty"],
                "consult_status": ["specialty"],
                "get_checklist": ["procedure"],
            },
            # intent -> kinds filled when the whole text is one phrase or description of them.
            "fill_in_answers": {"inform": ["specialty", "procedure"]},
            # A text that is one specialty and nothing else is this answer
            # intent when the classifier said one of ``answer_over`` or was
            # less sure than ``answer_below`` (the FallbackClassifier's threshold).
            "answer_intent": "inform",
            "answer_kind": "specialty",
            "answer_over": ["previous_step", "next_step", "repeat_step", "goto_step", "out_of_scope"],
            "answer_below": 0.45,
            "never_over": ["stop", "help"],
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        synonyms: dict[str, str] | None = None,
    ) -> None:
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self._synonyms = dict(synonyms or {})
        self._canonicaliser = Canonicaliser(self._synonyms)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CanonicalEntityMapper:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        synonyms = dict(training_data.entity_synonyms)
        # Annotated spans count as phrases for their value too ("[dil ke doctor](specialty)").
        for example in training_data.entity_examples:
            for entity in example.get(ENTITIES, []):
                span = example.get(TEXT)[entity["start"] : entity["end"]]
                synonyms.setdefault(span, str(entity.get("value")))
        self._synonyms = synonyms
        self._canonicaliser = Canonicaliser(synonyms)
        with self._model_storage.write_to(self._resource) as directory:
            (directory / _FILENAME).write_text(json.dumps(synonyms, ensure_ascii=False), encoding="utf-8")
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> CanonicalEntityMapper:
        try:
            with model_storage.read_from(resource) as directory:
                synonyms = json.loads((directory / _FILENAME).read_text(encoding="utf-8"))
        except (ValueError, FileNotFoundError):
            synonyms = {}
        return cls(config, model_storage, resource, synonyms)

    def process(self, messages: list[Message]) -> list[Message]:
        kinds = set(self._config.get("entities") or [])
        for message in messages:
            text = message.get(TEXT) or ""
            kept = []
            for entity in message.get(ENTITIES, []):
                kind = entity.get("entity")
                if kind in kinds:
                    self._widened(kind, text, entity)
                value = str(entity.get("value", ""))
                if kind not in kinds or self._canonicaliser.is_canonical(kind, value):
                    kept.append(entity)
                    continue
                # The words said first: Rasa's synonyms are one table for all
                # entity types, so the mapped value may belong to another type.
                span = text[entity["start"] : entity["end"]] if "start" in entity and "end" in entity else ""
                canonical = self._canonicaliser.canonical(kind, span) or self._canonicaliser.canonical(kind, value)
                if canonical is not None:
                    entity["value"] = canonical
                    self.add_processor_name(entity)
                    kept.append(entity)
                # else: a stray word ("doctor", "check") tagged as a specialty or a
                # procedure names none; it would only hide the real one.
            self._answer_alone(message, kept)
            found = kept + self._filled_in(message, kept)
            message.set(ENTITIES, found)
            if message.get(NO_KNOWN_WORD) and not found:
                _fall_back(message)
        return messages

    def _answer_alone(self, message: Message, tagged: list[dict[str, Any]]) -> None:
        """A specialty said alone ("bacche", "दिल") is an answer, not a step command or a guess."""
        intent = message.get(INTENT) or {}
        name, confidence = intent.get(INTENT_NAME_KEY), float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
        answer_intent = self._config.get("answer_intent") or "inform"
        if not name or name == answer_intent or name in (self._config.get("never_over") or []):
            return
        if name not in (self._config.get("answer_over") or []) and confidence >= float(
            self._config.get("answer_below") or 0.0
        ):
            return
        kind = self._config.get("answer_kind") or "specialty"
        if any(e.get("entity") != kind for e in tagged) or not (message.get(TEXT) or "").strip():
            return
        if self._canonicaliser.answer(kind, message.get(TEXT) or "") is None:
            return
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != answer_intent]
        chosen = {INTENT_NAME_KEY: answer_intent, PREDICTED_CONFIDENCE_KEY: 1.0}
        message.set(INTENT, chosen, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [chosen, *ranking], add_to_output=True)

    def _widened(self, kind: str, text: str, entity: dict[str, Any]) -> None:
        """A tagged span inside a longer known phrase takes the phrase: "urgent" in "not urgent" is routine."""
        if "start" not in entity or "end" not in entity:
            return
        around = self._canonicaliser.phrase_around(kind, text, entity["start"], entity["end"])
        if around is not None:
            entity["value"], entity["start"], entity["end"] = around
            self.add_processor_name(entity)

    def _filled_in(self, message: Message, tagged: list[dict[str, Any]]) -> list[dict[str, Any]]:
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        text = message.get(TEXT) or ""
        found: list[dict[str, Any]] = []
        for setting, look in (("fill_in", self._canonicaliser.find), ("fill_in_answers", self._canonicaliser.answer)):
            missing = [
                kind
                for kind in (self._config.get(setting) or {}).get(intent, [])
                if not any(e.get("entity") == kind for e in tagged + found)
            ]
            found += self._looked_up(missing, text, look)
        return found

    def _looked_up(
        self, kinds: list[str], text: str, look: Callable[[str, str], tuple[str, int, int] | None]
    ) -> list[dict[str, Any]]:
        found = []
        for kind in kinds:
            match = look(kind, text)
            if match is not None:
                value, start, end = match
                entity = {"entity": kind, "start": start, "end": end, "value": value}
                self.add_extractor_name([entity])
                found.append(entity)
        return found

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


def _fall_back(message: Message) -> None:
    """Nothing of ours was said (``NO_KNOWN_WORD``): the fallback intent, so the worker is asked again."""
    fallback = {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME, PREDICTED_CONFIDENCE_KEY: 1.0}
    message.set(INTENT, fallback, add_to_output=True)
    ranking = message.get(INTENT_RANKING_KEY) or []
    message.set(INTENT_RANKING_KEY, [fallback, *ranking], add_to_output=True)
