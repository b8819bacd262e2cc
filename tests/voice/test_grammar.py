"""The command vocabulary, read at run time from the NLU training data and the canonical vocabulary."""

from __future__ import annotations

import textwrap
from pathlib import Path

import yaml

from assistant.core import vocabulary
from voice.grammar import (
    DEFAULT_DOMAIN,
    DEFAULT_NLU_DIR,
    build_command_vocabulary,
    nlu_examples,
    number_words,
    vosk_grammar,
    whisper_prompt,
    words_of,
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_examples_lose_their_entity_annotations(tmp_path: Path) -> None:
    write(
        tmp_path / "nlu" / "a.yml",
        """\
        version: "3.1"
        nlu:
        - intent: get_checklist
          examples: |
            - show me the [hand hygiene](procedure) checklist
            - [hand hygene]{"entity": "procedure", "value": "hand_hygiene"} steps
            - [ORS kaise banate](procedure:oral_rehydration) hain
        - synonym: cardiology
          examples: |
            - heart doctor
        - lookup: symptom
          examples: |
            - chest pain
        - regex: patient_id
          examples: |
            - \\b\\d{4,12}\\b
        """,
    )
    write(tmp_path / "nlu" / "broken.yml", "nlu: [unclosed\n")  # being edited right now: skipped
    found = nlu_examples(tmp_path / "nlu")
    assert found == {
        "intent:get_checklist": [
            "show me the hand hygiene checklist",
            "hand hygene steps",
            "ORS kaise banate hain",
        ],
        "synonym:cardiology": ["heart doctor"],
        "lookup:symptom": ["chest pain"],
    }


def test_words_keep_devanagari_vowel_signs_and_apostrophes() -> None:
    assert words_of("बच्चों के डॉक्टर, please!") == ["बच्चों", "के", "डॉक्टर", "please"]
    assert words_of("Don't STOP -- (next)") == ["don't", "stop", "next"]


def test_the_vocabulary_covers_nlu_canonical_terms_and_numbers() -> None:
    vocab = build_command_vocabulary()
    words = vocab.words
    # Everything the NLU training data says, read independently here.
    for path in sorted(DEFAULT_NLU_DIR.glob("*.yml")):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if "intent" in item:
                assert f"intent:{item['intent']}" in vocab.groups
    for intent in ("next_step", "repeat_step", "previous_step", "stop", "affirm", "log_encounter", "get_checklist"):
        assert vocab.groups.get(f"intent:{intent}"), f"no NLU examples for {intent}"
    for procedure in vocabulary.PROCEDURES:
        assert set(procedure.split("_")) <= words
    for names in vocabulary.SPECIALTIES.values():
        assert set(words_of(names["en"])) | set(words_of(names["hi"])) <= words
    assert {"ninety", "eight", "point", "six", "sau", "chalis", "सौ", "चालीस"} <= words
    assert {"patient", "id", "temperature", "pulse"} <= set(" ".join(vocab.groups["fields"]).split())
    assert DEFAULT_DOMAIN.exists()


def test_number_words_come_from_the_spoken_numbers_module() -> None:
    from assistant.core.spoken_numbers import parse_number

    for word in number_words():
        if word not in {"point", "dashamlav", "दशमलव"}:
            assert parse_number(f"{word} saal") is not None, word


def test_vosk_grammar_filters_to_the_model_and_adds_its_unknown_token() -> None:
    vocab = build_command_vocabulary()
    known = {"next", "repeat", "stop", "hand", "hygiene"}
    grammar = vosk_grammar(vocab, known.__contains__, "[unk]")
    assert grammar == sorted(known) + ["[unk]"]
    assert vosk_grammar(vocab, known.__contains__, None) == sorted(known)


def test_whisper_prompt_respects_its_token_budget() -> None:
    vocab = build_command_vocabulary()
    short = whisper_prompt(vocab, max_tokens=20)
    assert 0 < len(short) // 4 <= 20
    assert short.startswith("hand hygiene")
    assert "next" in whisper_prompt(vocab).split(", ")
