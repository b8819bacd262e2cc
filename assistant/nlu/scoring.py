"""Scores of parsed utterances against gold ones, overall and per language form (no Rasa needed).

An entity counts as right when its type and value match: canonical values for
closed vocabularies (specialty, procedure, ...), the normalised text for open
ones (patient id, age, vitals, complaint). Entity-value accuracy is the share
of gold entities found with the right value; precision and F1 also charge the
entities that were not said.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.core.canonical import KINDS, normalise
from assistant.core.language import detect_language, script_language

FALLBACK_INTENT = "nlu_fallback"
# The three ways the workers write: English, Hindi in Devanagari, romanised Hindi.
LANGUAGE_FORMS: tuple[str, ...] = ("en", "hi", "hinglish")
MISSED = "(none)"


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    entities: frozenset[tuple[str, str]]
    language: str = "en"
    # The held-out set's blocks say which set they came in (``metadata: {set: older}``).
    older: bool = False


@dataclass
class Scores:
    n: int
    intent_accuracy: float
    intent_macro_f1: float
    fallback_rate: float
    entity_precision: float
    entity_recall: float
    entity_f1: float
    entity_value_accuracy: float
    entity_total: int
    per_entity_f1: dict[str, float] = field(default_factory=dict)
    # kind -> (gold entities found with the right value, gold entities)
    per_entity_accuracy: dict[str, tuple[int, int]] = field(default_factory=dict)
    confusions: list[tuple[str, str, str]] = field(default_factory=list)
    # (expected, got) -> how often, for intents; (kind, expected, got) for entity values
    intent_pairs: Counter[tuple[str, str]] = field(default_factory=Counter)
    entity_pairs: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    # (text, missed, extra) for utterances whose entities were not exactly right
    entity_errors: list[tuple[str, list[tuple[str, str]], list[tuple[str, str]]]] = field(default_factory=list)


def entity_key(kind: str, value: Any, synonyms: dict[str, str]) -> tuple[str, str]:
    text = str(value)
    if kind in KINDS:
        return kind, synonyms.get(text.lower(), text)
    return kind, normalise(text)


def language_form(text: str) -> str:
    """The language form of an untagged utterance, by the project's one language rule."""
    if script_language(text):
        return "hi"
    return "hinglish" if detect_language(text, "en") == "hi" else "en"


def examples_from(training_data: Any, synonyms: dict[str, str]) -> list[Example]:
    """Gold examples from a Rasa ``TrainingData``; annotated values pass through the synonyms.

    A block's ``metadata: {lang: ...}`` names its language form; untagged
    utterances get theirs from ``language_form``.
    """
    examples = []
    for message in training_data.intent_examples:
        tags = ((message.get("metadata") or {}).get("intent")) or {}
        examples.append(
            Example(
                text=message.get("text"),
                intent=message.get("intent"),
                entities=frozenset(
                    entity_key(e["entity"], e["value"], synonyms) for e in message.get("entities") or []
                ),
                language=str(tags.get("lang") or language_form(message.get("text"))),
                older=tags.get("set") == "older",
            )
        )
    return examples


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


def score(gold: Sequence[Example], predicted: Sequence[dict[str, Any]]) -> Scores:
    from sklearn.metrics import f1_score

    true_intents = [example.intent for example in gold]
    predicted_intents = [parse["intent"]["name"] for parse in predicted]
    per_kind: Counter[tuple[str, str]] = Counter()
    result = Scores(len(gold), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0)
    for example, parse, intent in zip(gold, predicted, predicted_intents, strict=True):
        got = frozenset(entity_key(e["entity"], e["value"], {}) for e in parse.get("entities", []))
        for outcome, pairs in (("tp", got & example.entities), ("fp", got - example.entities)):
            per_kind.update((kind, outcome) for kind, _ in pairs)
        for kind, value in example.entities - got:
            per_kind[(kind, "fn")] += 1
            said = sorted(v for k, v in got if k == kind) or [MISSED]
            result.entity_pairs[(kind, value, ", ".join(said))] += 1
        if intent != example.intent:
            result.confusions.append((example.text, example.intent, intent))
            result.intent_pairs[(example.intent, intent)] += 1
        if got != example.entities:
            result.entity_errors.append((example.text, sorted(example.entities - got), sorted(got - example.entities)))
    tp, fp, fn = (sum(n for (_, outcome), n in per_kind.items() if outcome == o) for o in ("tp", "fp", "fn"))
    result.entity_precision = tp / (tp + fp) if tp + fp else 0.0
    result.entity_recall = tp / (tp + fn) if tp + fn else 0.0
    result.entity_f1 = _f1(tp, fp, fn)
    result.entity_total = tp + fn
    result.entity_value_accuracy = tp / (tp + fn) if tp + fn else 1.0
    for kind in sorted({kind for kind, _ in per_kind}):
        k_tp, k_fp, k_fn = per_kind[(kind, "tp")], per_kind[(kind, "fp")], per_kind[(kind, "fn")]
        result.per_entity_f1[kind] = _f1(k_tp, k_fp, k_fn)
        if k_tp + k_fn:
            result.per_entity_accuracy[kind] = (k_tp, k_tp + k_fn)
    if gold:
        result.intent_accuracy = sum(t == p for t, p in zip(true_intents, predicted_intents, strict=True)) / len(gold)
        result.intent_macro_f1 = float(
            f1_score(
                true_intents, predicted_intents, labels=sorted(set(true_intents)), average="macro", zero_division=0
            )
        )
        result.fallback_rate = predicted_intents.count(FALLBACK_INTENT) / len(gold)
    return result


def score_where(
    gold: Sequence[Example], predicted: Sequence[dict[str, Any]], keep: Callable[[Example], bool]
) -> Scores:
    """The scores of the utterances ``keep`` picks (one language form, the older set)."""
    chosen = [i for i, example in enumerate(gold) if keep(example)]
    return score([gold[i] for i in chosen], [predicted[i] for i in chosen])
