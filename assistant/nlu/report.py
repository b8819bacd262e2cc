"""NLU quality report: ``make nlu-report`` / ``python -m assistant.nlu.report``.

1. Trains an NLU model on ``nlu/`` and evaluates it on the held-out file
   ``tests/nlu_holdout.yml`` (never used for training).
2. Runs k-fold cross-validation over the training data (seeded folds).

Prints intent accuracy, macro F1, the low-confidence (fallback) rate and
entity precision/recall/F1. An entity counts as right when its type and value
match: canonical values for closed vocabularies (specialty, procedure, ...),
the normalised text for open ones (patient id, age, vitals, complaint).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.core.canonical import KINDS, normalise
from assistant.core.config import PROJECT_DIR

NLU_DIR = PROJECT_DIR / "nlu"
CONFIG = PROJECT_DIR / "config.yml"
HOLDOUT = PROJECT_DIR / "tests" / "nlu_holdout.yml"
FALLBACK_INTENT = "nlu_fallback"
SEED = 1729


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    entities: frozenset[tuple[str, str]]


@dataclass
class Scores:
    intent_accuracy: float
    intent_macro_f1: float
    fallback_rate: float
    entity_precision: float
    entity_recall: float
    entity_f1: float
    per_entity_f1: dict[str, float] = field(default_factory=dict)
    confusions: list[tuple[str, str, str]] = field(default_factory=list)
    # (text, missed, extra) for utterances whose entities were not exactly right
    entity_errors: list[tuple[str, list[tuple[str, str]], list[tuple[str, str]]]] = field(default_factory=list)


def _entity_key(kind: str, value: Any, synonyms: dict[str, str]) -> tuple[str, str]:
    text = str(value)
    if kind in KINDS:
        return kind, synonyms.get(text.lower(), text)
    return kind, normalise(text)


def examples_from(training_data: Any, synonyms: dict[str, str]) -> list[Example]:
    """Gold examples from a Rasa ``TrainingData``; annotated values pass through the synonyms."""
    return [
        Example(
            text=message.get("text"),
            intent=message.get("intent"),
            entities=frozenset(_entity_key(e["entity"], e["value"], synonyms) for e in message.get("entities") or []),
        )
        for message in training_data.intent_examples
    ]


def score(gold: Sequence[Example], predicted: Sequence[dict[str, Any]]) -> Scores:
    from sklearn.metrics import f1_score

    true_intents = [example.intent for example in gold]
    predicted_intents = [parse["intent"]["name"] for parse in predicted]
    labels = sorted(set(true_intents))
    tp = fp = fn = 0
    per_kind: Counter[tuple[str, str]] = Counter()
    confusions = []
    entity_errors = []
    for example, parse, intent in zip(gold, predicted, predicted_intents, strict=True):
        got = frozenset(_entity_key(e["entity"], e["value"], {}) for e in parse.get("entities", []))
        tp += len(got & example.entities)
        fp += len(got - example.entities)
        fn += len(example.entities - got)
        for kind, _ in got & example.entities:
            per_kind[(kind, "tp")] += 1
        for kind, _ in got - example.entities:
            per_kind[(kind, "fp")] += 1
        for kind, _ in example.entities - got:
            per_kind[(kind, "fn")] += 1
        if intent != example.intent:
            confusions.append((example.text, example.intent, intent))
        if got != example.entities:
            entity_errors.append((example.text, sorted(example.entities - got), sorted(got - example.entities)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    kinds = sorted({kind for kind, _ in per_kind})
    per_entity = {}
    for kind in kinds:
        k_tp, k_fp, k_fn = per_kind[(kind, "tp")], per_kind[(kind, "fp")], per_kind[(kind, "fn")]
        per_entity[kind] = 2 * k_tp / (2 * k_tp + k_fp + k_fn) if k_tp + k_fp + k_fn else 0.0
    return Scores(
        intent_accuracy=sum(t == p for t, p in zip(true_intents, predicted_intents, strict=True)) / len(gold),
        intent_macro_f1=float(
            f1_score(true_intents, predicted_intents, labels=labels, average="macro", zero_division=0)
        ),
        fallback_rate=predicted_intents.count(FALLBACK_INTENT) / len(gold),
        entity_precision=precision,
        entity_recall=recall,
        entity_f1=2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        per_entity_f1=per_entity,
        confusions=confusions,
        entity_errors=entity_errors,
    )


def train_nlu_model(nlu_data: Path, output: Path, name: str) -> Path:
    from rasa.model_training import train_nlu

    model = train_nlu(str(CONFIG), str(nlu_data), str(output), fixed_model_name=name)
    if model is None:
        raise RuntimeError(f"NLU training on {nlu_data} produced no model")
    return Path(model)


def parse_all(model: Path, texts: Iterable[str]) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))

    async def run() -> list[dict[str, Any]]:
        return [await agent.parse_message(text) for text in texts]

    return asyncio.run(run())


def load(path: Path) -> Any:
    """NLU examples, synonyms, regexes and lookups of a file or a directory (stories and rules skipped)."""
    from rasa.shared.data import get_data_files, is_nlu_file
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    files = sorted(get_data_files([str(path)], is_nlu_file))
    return TrainingData().merge(*(load_data(f) for f in files))


def holdout_scores(workdir: Path, training_data: Any) -> Scores:
    model = train_nlu_model(NLU_DIR, workdir, "holdout")
    gold = examples_from(load(HOLDOUT), training_data.entity_synonyms)
    return score(gold, parse_all(model, [example.text for example in gold]))


def cross_validation_scores(workdir: Path, training_data: Any, folds: int) -> list[Scores]:
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from sklearn.model_selection import StratifiedKFold

    examples = training_data.intent_examples
    labels = [message.get("intent") for message in examples]
    results = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
    for index, (train_index, test_index) in enumerate(splitter.split(examples, labels)):
        fold = TrainingData(
            training_examples=[examples[i] for i in train_index],
            entity_synonyms=training_data.entity_synonyms,
            regex_features=training_data.regex_features,
            lookup_tables=training_data.lookup_tables,
        )
        fold_file = workdir / f"fold{index}.yml"
        fold_file.write_text(fold.nlu_as_yaml(), encoding="utf-8")
        model = train_nlu_model(fold_file, workdir, f"fold{index}")
        test = TrainingData(training_examples=[examples[i] for i in test_index])
        gold = examples_from(test, training_data.entity_synonyms)
        results.append(score(gold, parse_all(model, [example.text for example in gold])))
        print(
            (
                f"  fold {index + 1}/{folds}: intent accuracy {results[-1].intent_accuracy:.3f}, entity F1 "
                f"{results[-1].entity_f1:.3f}"
            ),
            flush=True,
        )
    return results


def _print_scores(title: str, scores: Scores, n: int) -> None:
    print(f"\n{title} ({n} utterances)")
    print(f"  intent accuracy   {scores.intent_accuracy:.3f}")
    print(f"  intent macro F1   {scores.intent_macro_f1:.3f}")
    print(f"  fallback rate     {scores.fallback_rate:.3f}  (answered with a redirect)")
    print(f"  entity P / R / F1 {scores.entity_precision:.3f} / {scores.entity_recall:.3f} / {scores.entity_f1:.3f}")
    print("  entity F1 by type " + ", ".join(f"{kind} {f1:.2f}" for kind, f1 in scores.per_entity_f1.items()))
    for text, expected, got in scores.confusions:
        print(f"    intent: {text!r}: expected {expected}, got {got}")
    for text, missed, extra in scores.entity_errors:
        print(f"    entities: {text!r}: missed {missed}, extra {extra}")


def _print_cv(results: list[Scores]) -> None:
    def summary(values: list[float]) -> str:
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.3f} ± {spread:.3f}"

    print(f"\nCross-validation ({len(results)} folds over nlu/)")
    print(f"  intent accuracy   {summary([r.intent_accuracy for r in results])}")
    print(f"  intent macro F1   {summary([r.intent_macro_f1 for r in results])}")
    print(f"  entity F1         {summary([r.entity_f1 for r in results])}")


def _quiet_rasa() -> None:
    """Only the report on stdout: Rasa logs every parse at debug level otherwise."""
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=3, help="cross-validation folds (0 to skip)")
    args = parser.parse_args(argv)
    _quiet_rasa()
    training_data = load(NLU_DIR)
    print(f"training data: {len(training_data.intent_examples)} examples, {len(training_data.intents)} intents")
    with tempfile.TemporaryDirectory(prefix="nlu-report-") as tmp:
        workdir = Path(tmp)
        started = time.monotonic()
        holdout = holdout_scores(workdir, training_data)
        print(f"(trained and evaluated in {time.monotonic() - started:.0f}s)")
        _print_scores("Held-out set tests/nlu_holdout.yml", holdout, len(load(HOLDOUT).intent_examples))
        if args.folds > 1:
            print(f"\nrunning {args.folds}-fold cross-validation ...", flush=True)
            _print_cv(cross_validation_scores(workdir, training_data, args.folds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
