"""`make nlu-report`'s scores: per language form, per entity type, with the confusions (no model needed)."""

from __future__ import annotations

from collections import Counter

from assistant.nlu.report import HOLDOUT, load
from assistant.nlu.scoring import LANGUAGE_FORMS, Example, examples_from, language_form, score, score_where


def test_the_held_out_set_has_each_language_form_and_the_older_set() -> None:
    gold = examples_from(load(HOLDOUT), {})
    counts = Counter(example.language for example in gold)
    assert set(counts) == set(LANGUAGE_FORMS)
    assert all(counts[language] >= 60 for language in LANGUAGE_FORMS), counts
    assert sum(example.older for example in gold) >= 150
    # Every form holds entities to score: specialties and procedures described in it.
    for language in LANGUAGE_FORMS:
        kinds = Counter(kind for e in gold if e.language == language for kind, _ in e.entities)
        assert kinds["specialty"] >= 15 and kinds["procedure"] >= 12, (language, kinds)


def test_untagged_utterances_get_the_projects_language_rule() -> None:
    assert language_form("मरीज़ की एंट्री करनी है") == "hi"
    assert language_form("consult cancel kar dijiye") == "hinglish"
    assert language_form("cancel my booking") == "en"


def test_entity_values_and_confusions_are_counted_per_type() -> None:
    gold = [
        Example("dil wale", "inform", frozenset({("specialty", "cardiology")}), "hinglish"),
        Example("दिल", "inform", frozenset({("specialty", "cardiology")}), "hi"),
        Example("o r s", "get_checklist", frozenset({("procedure", "oral_rehydration")}), "en"),
    ]
    parses = [
        {"intent": {"name": "inform"}, "entities": [{"entity": "specialty", "value": "cardiology"}]},
        {"intent": {"name": "request_consult"}, "entities": [{"entity": "specialty", "value": "neurology"}]},
        {"intent": {"name": "get_checklist"}, "entities": []},
    ]
    scores = score(gold, parses)
    assert scores.entity_value_accuracy == 1 / 3 and scores.entity_total == 3
    assert scores.per_entity_accuracy == {"specialty": (1, 2), "procedure": (0, 1)}
    assert scores.intent_pairs == Counter({("inform", "request_consult"): 1})
    assert scores.entity_pairs == Counter(
        {("specialty", "cardiology", "neurology"): 1, ("procedure", "oral_rehydration", "(none)"): 1}
    )
    hindi = score_where(gold, parses, lambda example: example.language == "hi")
    assert (hindi.n, hindi.intent_accuracy, hindi.entity_value_accuracy) == (1, 0.0, 0.0)
