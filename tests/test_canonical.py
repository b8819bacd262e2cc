"""Everyday words, misspellings and whole answers map onto the canonical values."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from assistant.core.canonical import Canonicaliser
from assistant.core.config import PROJECT_DIR

if TYPE_CHECKING:
    from rasa.shared.nlu.training_data.message import Message

    from assistant.nlu.canonical_entities import CanonicalEntityMapper


@pytest.fixture(scope="module")
def canonical() -> Canonicaliser:
    return Canonicaliser.from_nlu_files([PROJECT_DIR / "nlu" / "synonyms.yml"])


@pytest.mark.parametrize(
    "kind, said, value",
    [
        ("specialty", "heart doctor", "cardiology"),
        ("specialty", "dil wale doctor sahab", "cardiology"),
        ("specialty", "bachon ka docter", "pediatrics"),
        ("specialty", "cardiolgy", "cardiology"),
        ("specialty", "haddi wale doctor", "orthopedics"),
        ("specialty", "हृदय रोग विशेषज्ञ", "cardiology"),
        ("specialty", "naak kaan gala wale", "ent"),
        ("urgency", "not urgent", "routine"),
        ("urgency", "bahut serious hai", "emergency"),
        ("urgency", "jaldi", "urgent"),
        ("sex", "aurat hai", "female"),
        ("sex", "लड़का", "male"),
        ("procedure", "ORS kaise banate", "oral_rehydration"),
        ("procedure", "BP check", "blood_pressure_measurement"),
        ("procedure", "hand hygene", "hand_hygiene"),
        ("field", "umar", "age"),
        ("field", "bp reading", "vitals"),
        ("language", "हिंदी", "hi"),
    ],
)
def test_phrases_resolve(canonical: Canonicaliser, kind: str, said: str, value: str) -> None:
    assert canonical.canonical(kind, said) == value


@pytest.mark.parametrize(
    "kind, said",
    [
        ("specialty", "hearing test"),
        ("specialty", "doctor"),
        ("specialty", "specialist"),
        ("sex", "45"),
        ("procedure", "checklist"),
        ("urgency", ""),
    ],
)
def test_nothing_is_invented(canonical: Canonicaliser, kind: str, said: str) -> None:
    assert canonical.canonical(kind, said) is None


@pytest.mark.parametrize(
    "kind, text, found",
    [
        ("specialty", "Naak Kaan Gala wale doctor chahiye", ("ent", 0, 14)),
        ("specialty", "mujhe dil ke doctor se milna", ("cardiology", 6, 19)),
        ("urgency", "consult chahiye, not urgent", ("routine", 17, 27)),
        ("procedure", "नाक की सफाई", None),
        ("specialty", "hearing test", None),
        ("specialty", "the cardiologists", None),
    ],
)
def test_known_phrases_are_found_whole_with_their_span(
    canonical: Canonicaliser, kind: str, text: str, found: object
) -> None:
    assert canonical.find(kind, text) == found


def _mapper(synonyms: dict[str, str]) -> CanonicalEntityMapper:
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    from assistant.nlu.canonical_entities import CanonicalEntityMapper

    return CanonicalEntityMapper(
        CanonicalEntityMapper.get_default_config(), LocalModelStorage("/tmp"), Resource("x"), synonyms
    )


def _parsed(text: str, intent: str, entities: list[dict[str, object]]) -> Message:
    from rasa.shared.nlu.training_data.message import Message

    message = Message.build(text)
    message.set("intent", {"name": intent, "confidence": 0.9})
    message.set("entities", entities)
    return message


def test_a_flow_opening_intent_gets_the_known_phrase_the_extractor_missed() -> None:
    mapper = _mapper({"naak kaan gala": "ent", "jaldi": "urgent"})
    (opened,) = mapper.process([_parsed("naak kaan gala wale doctor chahiye jaldi", "request_consult", [])])
    assert [(e["entity"], e["value"], e["start"], e["end"]) for e in opened.get("entities")] == [
        ("specialty", "ent", 0, 14),
        ("urgency", "urgent", 35, 40),
    ]
    # An answer inside a form is left to the extractor: "jaldi" there may describe the complaint.
    (answer,) = mapper.process([_parsed("naak kaan gala mein dard, jaldi", "inform", [])])
    assert answer.get("entities") == []
    # What the extractor did tag is kept, not doubled.
    tagged = {"entity": "specialty", "value": "ent", "start": 0, "end": 14}
    (kept,) = mapper.process([_parsed("naak kaan gala wale doctor", "request_consult", [dict(tagged)])])
    assert [e["value"] for e in kept.get("entities")] == ["ent"]


def test_the_pipeline_component_maps_the_span_not_another_types_synonym() -> None:
    from rasa.shared.nlu.training_data.message import Message

    # "department" is a field synonym (-> "specialty"); as a specialty span it names none.
    synonyms = {"dil ke doctor": "cardiology", "dil": "cardiology", "department": "specialty"}
    mapper = _mapper(synonyms)
    text = "dil wale doctor se baat, cardiolgy department"
    message = Message.build(text)
    message.set(
        "entities",
        [
            {"entity": "specialty", "value": "dil wale doctor", "start": 0, "end": 15},
            {"entity": "specialty", "value": "cardiolgy", "start": 25, "end": 34},
            {"entity": "specialty", "value": "specialty", "start": 35, "end": 45},
            {"entity": "patient_id", "value": "4521", "start": 0, "end": 4},
        ],
    )
    (processed,) = mapper.process([message])
    # The stray "department" names no specialty and is dropped; other types are untouched.
    assert [e["value"] for e in processed.get("entities")] == ["cardiology", "cardiology", "4521"]


def test_a_tagged_word_inside_a_longer_known_phrase_takes_the_phrase() -> None:
    """The tagger marked only "urgent" in "not urgent": the phrase said is routine."""
    mapper = _mapper({"not urgent": "routine", "jaldi nahi": "routine", "urgent": "urgent"})
    text = "need psychiatrist consult not urgent"
    tagged = {"entity": "urgency", "value": "urgent", "start": text.index("urgent"), "end": len(text)}
    (message,) = mapper.process([_parsed(text, "request_consult", [tagged])])
    assert [(e["value"], text[e["start"] : e["end"]]) for e in message.get("entities")] == [("routine", "not urgent")]
    text = "urgent consult chahiye"
    tagged = {"entity": "urgency", "value": "urgent", "start": 0, "end": 6}
    (message,) = mapper.process([_parsed(text, "request_consult", [tagged])])
    assert [e["value"] for e in message.get("entities")] == ["urgent"]


def _scored(text: str, intent: str, confidence: float) -> Message:
    message = _parsed(text, intent, [])
    message.set("intent", {"name": intent, "confidence": confidence})
    message.set("intent_ranking", [{"name": intent, "confidence": confidence}, {"name": "inform", "confidence": 0.1}])
    return message


@pytest.mark.parametrize(
    ("text", "intent", "confidence", "expected"),
    [
        # A specialty said alone is the form's answer, not a step command or a guess.
        ("bacche", "previous_step", 0.8, "inform"),
        ("दिल", "nlu_fallback", 0.3, "inform"),
        ("the eye one", "out_of_scope", 0.7, "inform"),
        ("dil", "greet", 0.2, "inform"),
        # Step commands, other words, a sure classifier and stop / help stay as they are.
        ("peeche", "previous_step", 0.9, "previous_step"),
        ("go back to the heart step", "previous_step", 0.9, "previous_step"),
        ("dil", "greet", 0.9, "greet"),
        ("bacche", "help", 0.3, "help"),
    ],
)
def test_a_specialty_said_alone_is_an_answer(text: str, intent: str, confidence: float, expected: str) -> None:
    mapper = _mapper({"bachche": "pediatrics", "dil": "cardiology", "eye": "ophthalmology"})
    (parsed,) = mapper.process([_scored(text, intent, confidence)])
    assert parsed.get("intent")["name"] == expected
    assert parsed.get("intent_ranking")[0]["name"] == expected
    if expected == "inform":
        assert [e["entity"] for e in parsed.get("entities")] == ["specialty"]
