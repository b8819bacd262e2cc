"""Specialties and procedures described, not named, in English, Devanagari and romanised Hindi (issue 26).

The sentences here are written for these tests: none is in the training data
or the held-out set.
"""

from __future__ import annotations

import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message

from assistant.core.canonical import Canonicaliser
from assistant.core.config import PROJECT_DIR
from assistant.core.description_match import forms, spelled_out, word_key
from assistant.core.descriptions import ANCHORED, DESCRIPTIONS, PROCEDURES, SPECIALTIES
from assistant.core.vocabulary import PROCEDURES as PROCEDURE_VALUES
from assistant.core.vocabulary import SPECIALTIES as SPECIALTY_VALUES
from assistant.nlu.canonical_entities import CanonicalEntityMapper
from voice.grammar import build_command_vocabulary


@pytest.fixture(scope="module")
def canonical() -> Canonicaliser:
    return Canonicaliser.from_nlu_files([PROJECT_DIR / "nlu" / "synonyms.yml"])


def test_every_canonical_value_has_descriptions_in_both_scripts() -> None:
    assert set(SPECIALTIES) == set(SPECIALTY_VALUES) and set(PROCEDURES) == set(PROCEDURE_VALUES)
    assert set(ANCHORED) <= set(SPECIALTY_VALUES)
    for table in DESCRIPTIONS.values():
        for value, phrases in table.items():
            devanagari = [p for p in phrases if any("\u0900" <= ch <= "\u097f" for ch in p)]
            assert devanagari and len(devanagari) < len(phrases), f"{value} needs Devanagari and Latin descriptions"


@pytest.mark.parametrize(
    "text, value",
    [
        ("mujhe gurdon ke doctor se milwao", "nephrology"),
        ("किडनी की पथरी वाला केस है डॉक्टर चाहिए", "nephrology"),
        ("the doctor who does kidneys", "nephrology"),
        ("हड्डियों वाले विशेषज्ञ", "orthopedics"),
        ("haddiyan toot gayi hain plaster wale doctor", "orthopedics"),
        ("ankhon ke specialist", "ophthalmology"),
        ("नाक और गले का डॉक्टर", "ent"),
        ("bachchon ke vibhag se baat", "pediatrics"),
        ("someone for the nerves", "neurology"),
        ("lakwe ka case hai", "neurology"),
        ("mann ki bimari wale", "psychiatry"),
        ("मानसिक तनाव वाले डॉक्टर", "psychiatry"),
        ("a doctor for the skin", "dermatology"),
        ("खुजली वाले डॉक्टर", "dermatology"),
        ("garbhvati ke liye doctor", "obstetrics_gynecology"),
        ("operation karne wale doctor", "general_surgery"),
        ("pet ke rog wale", "general_medicine"),
        ("heart wale", "cardiology"),
        # Nearest the doctor word wins: the eye doctor of one with a heart problem.
        ("dil ki bimari hai par aankhon ke doctor", "ophthalmology"),
    ],
)
def test_a_described_specialty_resolves(canonical: Canonicaliser, text: str, value: str) -> None:
    assert canonical.canonical("specialty", text) == value


@pytest.mark.parametrize(
    "text, value",
    [
        ("how do i wash my hands properly", "hand_hygiene"),
        ("haath kaise dhoyen", "hand_hygiene"),
        ("बच्चा पैदा होते ही सांस नहीं ले रहा", "neonatal_resuscitation"),
        ("navjaat ki dekhbhal kaise karte", "newborn_care"),
        ("needle into a vein", "iv_cannulation"),
        ("नस में सुई कैसे डालें", "iv_cannulation"),
        ("syringe se sui lagana", "safe_injection"),
        ("pressure naapna hai", "blood_pressure_measurement"),
        ("शुगर नापने का तरीका", "blood_glucose"),
        ("zakhm par patti", "wound_dressing"),
        ("दस्त के लिए घोल", "oral_rehydration"),
        ("fever testing kit", "malaria_rdt"),
        ("prasav ke baad khoon", "postpartum_hemorrhage"),
        ("headset kaise pehne", "hololens_setup"),
    ],
)
def test_a_described_procedure_resolves(canonical: Canonicaliser, text: str, value: str) -> None:
    assert canonical.canonical("procedure", text) == value


@pytest.mark.parametrize(
    "kind, text, value",
    [
        ("procedure", "o r s", "oral_rehydration"),
        ("procedure", "ओ आर एस का घोल", "oral_rehydration"),
        ("procedure", "i need a b.p. check", "blood_pressure_measurement"),
        ("procedure", "पी पी एच में क्या करें", "postpartum_hemorrhage"),
        ("specialty", "e n t wale", "ent"),
    ],
)
def test_letters_said_one_by_one_make_the_word(canonical: Canonicaliser, kind: str, text: str, value: str) -> None:
    assert canonical.canonical(kind, text) == value


@pytest.mark.parametrize(
    "kind, text",
    [
        ("specialty", "the patient had fever"),  # "had" is no form of "haddi"
        ("specialty", "30 saal ka man hai"),  # "mann" (mind) only beside a doctor or an illness word
        ("specialty", "pet mein dard"),
        ("procedure", "mujhe pata nahi"),  # "pata" is no form of "patti"
        ("specialty", "hearing test"),
    ],
)
def test_everyday_words_invent_nothing(canonical: Canonicaliser, kind: str, text: str) -> None:
    assert canonical.find(kind, text) is None


def test_inflected_forms_are_made_from_the_base_word() -> None:
    assert {"gurde", "gurdon", "gurda"} <= forms("gurda")
    assert {"हड्डियों", "हड्डी"} <= forms("हड्डी") and "हड्ड" not in forms("हड्डी")
    assert {word_key("aankhon"), word_key("ankhen")} <= forms("aankh") and word_key("aankhon") == "ankhon"
    assert spelled_out("बी पी") == "bp" and spelled_out("b p l") == "bpl" and spelled_out("bp") is None


def test_a_whole_answer_is_only_a_description(canonical: Canonicaliser) -> None:
    assert canonical.answer("specialty", "the kidney one") == ("nephrology", 4, 10)
    assert canonical.answer("specialty", "आंखों वाले") is not None
    assert canonical.answer("specialty", "child has fever") is None  # a reason, not an answer


def _mapped(text: str, intent: str) -> list[tuple[str, str]]:
    mapper = CanonicalEntityMapper(
        CanonicalEntityMapper.get_default_config(), LocalModelStorage("/tmp"), Resource("x"), {}
    )
    message = Message.build(text)
    message.set("intent", {"name": intent, "confidence": 0.9})
    message.set("entities", [])
    mapper.process([message])
    return [(e["entity"], e["value"]) for e in message.get("entities")]


def test_the_pipeline_fills_what_the_tagger_missed() -> None:
    assert _mapped("gurdon ke doctor se consult", "request_consult") == [("specialty", "nephrology")]
    assert _mapped("पट्टी बदलने का तरीका", "get_checklist") == [("procedure", "wound_dressing")]
    assert _mapped("दिल वाले", "inform") == [("specialty", "cardiology")]
    assert _mapped("bacche ko dil mein dard", "inform") == []  # a complaint said as an answer


def test_the_voice_grammar_hears_the_description_words() -> None:
    assert {"gurda", "दिल", "pathri", "पट्टी", "मनोचिकित्सक"} <= build_command_vocabulary().words
