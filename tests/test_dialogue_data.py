"""The training data, domain and replies hang together (no model needed)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from assistant.core.canonical import KINDS, Canonicaliser, normalise
from assistant.core.config import PROJECT_DIR
from assistant.nlu.report import HOLDOUT, NLU_DIR, load
from assistant.stack.training import TRAINING_DATA

MAIN_INTENTS = (
    "request_consult",
    "consult_status",
    "cancel_consult",
    "get_checklist",
    "next_step",
    "previous_step",
    "repeat_step",
    "log_encounter",
    "inform",
    "affirm",
    "deny",
    "stop",
    "greet",
    "goodbye",
    "thank",
    "help",
    "out_of_scope",
)
DEVANAGARI = re.compile(r"[\u0900-\u097f]")


@pytest.fixture(scope="module")
def training():  # type: ignore[no-untyped-def]
    return load(NLU_DIR)


@pytest.mark.slow  # Rasa's own validator, a process of its own: several seconds
def test_rasa_data_validate_passes_with_warnings_as_errors() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "data", "validate", "--data", *TRAINING_DATA, "--fail-on-warnings"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_contract_intents_have_enough_varied_examples_in_three_language_forms(training) -> None:  # type: ignore[no-untyped-def]
    by_intent: dict[str, list[str]] = {}
    for message in training.intent_examples:
        by_intent.setdefault(message.get("intent"), []).append(message.get("text"))
    for intent in MAIN_INTENTS:
        texts = by_intent.get(intent, [])
        assert len(set(texts)) >= 25, f"{intent} has only {len(set(texts))} distinct examples"
        devanagari = sum(bool(DEVANAGARI.search(t)) for t in texts)
        latin = len(texts) - devanagari
        assert devanagari >= 3, f"{intent}: too few Devanagari examples"
        assert latin >= 15, f"{intent}: too few English / Hinglish examples"


def test_closed_vocabulary_annotations_resolve_to_canonical_values(training) -> None:  # type: ignore[no-untyped-def]
    """Every span annotated as a specialty, procedure, ... means exactly its canonical value."""
    canonical = Canonicaliser(training.entity_synonyms)
    for message in training.entity_examples:
        for entity in message.get("entities") or []:
            kind = entity["entity"]
            if kind not in KINDS:
                continue
            span = message.get("text")[entity["start"] : entity["end"]]
            value = training.entity_synonyms.get(str(entity["value"]).lower(), entity["value"])
            assert value in KINDS[kind], f"{span!r} is annotated {kind}={value!r}, not a canonical value"
            assert canonical.canonical(kind, span) == value, f"{span!r} does not resolve to {value}"


def test_every_canonical_value_is_known_to_the_synonyms(training) -> None:  # type: ignore[no-untyped-def]
    targets = set(training.entity_synonyms.values())
    for kind in ("specialty", "procedure", "urgency", "sex"):
        for value in KINDS[kind]:
            assert value in targets or kind in ("urgency", "sex"), f"no everyday words for {kind} {value}"


def test_holdout_set_is_never_trained_on(training) -> None:  # type: ignore[no-untyped-def]
    trained = {normalise(m.get("text")) for m in training.intent_examples}
    held_out = [m.get("text") for m in load(HOLDOUT).intent_examples]
    assert len(held_out) >= 100
    leaked = [text for text in held_out if normalise(text) in trained]
    assert not leaked, f"held-out utterances also in nlu/: {leaked}"
    assert not any(path.name == HOLDOUT.name for path in NLU_DIR.rglob("*"))


def test_every_domain_action_is_served_by_the_action_server() -> None:
    from rasa_sdk import Action, utils

    import actions

    for module in pkgutil.iter_modules(actions.__path__):
        importlib.import_module(f"actions.{module.name}")
    served = {
        cls().name()
        for cls in utils.all_subclasses(Action)
        if cls.__module__.startswith("actions.") and not inspect.isabstract(cls)
    }
    declared = set(yaml.safe_load((PROJECT_DIR / "domain.yml").read_text(encoding="utf-8"))["actions"])
    assert served == declared


def test_spoken_replies_stay_short() -> None:
    """Hands-free: a reply template is at most a few sentences (the read-backs are the longest)."""
    from actions.texts import MESSAGES

    for key, variants in MESSAGES.items():
        for template in variants.values():
            assert len(template) <= 200, key
            assert template.count(". ") + template.count("। ") <= 4, key


def test_nlu_report_module_reads_the_data(training) -> None:  # type: ignore[no-untyped-def]
    from assistant.nlu.report import examples_from, score

    gold = examples_from(load(HOLDOUT), training.entity_synonyms)
    perfect = [
        {"intent": {"name": g.intent}, "entities": [{"entity": kind, "value": value} for kind, value in g.entities]}
        for g in gold
    ]
    scores = score(gold, perfect)
    assert scores.intent_accuracy == 1.0 and scores.intent_macro_f1 == 1.0
    assert scores.entity_f1 == 1.0
    wrong = [{"intent": {"name": "nlu_fallback"}, "entities": []} for _ in gold]
    assert score(gold, wrong).intent_accuracy == 0.0 and score(gold, wrong).fallback_rate == 1.0


def test_training_data_lives_in_nlu_and_dialogue_only() -> None:
    assert not (PROJECT_DIR / "data" / "nlu.yml").exists()  # data/ is the runtime directory
    assert all(path.suffix == ".yml" for path in Path(NLU_DIR).iterdir() if path.is_file())
    for path in Path(NLU_DIR).glob("*.yml"):  # examples and synonyms only: the dialogue is in dialogue/
        assert not {"rules", "stories"} & set(yaml.safe_load(path.read_text(encoding="utf-8")) or {}), path
    assert sorted(path.name for path in (PROJECT_DIR / "dialogue").iterdir()) == ["rules.yml", "stories.yml"]


def _slot_mappings() -> dict[str, list[dict]]:
    domain = yaml.safe_load((PROJECT_DIR / "domain.yml").read_text(encoding="utf-8"))
    return {name: slot.get("mappings", []) for name, slot in domain["slots"].items()}


def test_the_domain_and_the_actions_agree_on_what_is_not_an_answer() -> None:
    """One rule (assistant.core.dialogue), written twice only because domain.yml cannot import it."""
    from assistant.core.dialogue import FREE_TEXT_SLOTS, NOT_AN_ANSWER, NOT_DICTATION

    for slot, mappings in _slot_mappings().items():
        for mapping in mappings:
            if mapping.get("type") != "from_text":
                continue
            expected = NOT_DICTATION if slot in FREE_TEXT_SLOTS else NOT_AN_ANSWER
            assert tuple(mapping.get("not_intent", ())) == expected, slot


def test_every_flow_intent_has_the_words_that_make_it_a_request() -> None:
    from actions.flow_requests import FORM_OPENED_BY, REQUEST_WORDS
    from assistant.core.dialogue import FLOW_INTENTS

    assert set(REQUEST_WORDS) == set(FLOW_INTENTS) and set(FORM_OPENED_BY) <= set(FLOW_INTENTS)
