"""Devanagari words reach the word-level features whole, not in fragments (issue 26)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from assistant.core.config import PROJECT_DIR
from assistant.nlu.whole_word_featurizer import WholeWordCountVectorsFeaturizer

SENTENCE = "क्या आपके पास बुखार है"
WORDS = {"क्या", "आपके", "पास", "बुखार", "है"}


def _fitted(featurizer_class: type[CountVectorsFeaturizer], tmp_path: Path) -> CountVectorsFeaturizer:
    """The featurizer trained, as Rasa trains it, on Whitespace tokens of a few sentences."""
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    data = TrainingData([Message.build(text, "greet") for text in (SENTENCE, "मरीज़ को खांसी है", "hello there")])
    tokenizer.process_training_data(data)
    featurizer = featurizer_class.create(
        {**featurizer_class.get_default_config(), "lowercase": True},
        LocalModelStorage(tmp_path),
        Resource(featurizer_class.__name__),
        ExecutionContext(graph_schema=None, model_id="test"),  # type: ignore[arg-type]
    )
    featurizer.train(data)
    return featurizer


def test_the_word_vocabulary_holds_whole_devanagari_words(tmp_path: Path) -> None:
    vocabulary = set(_fitted(WholeWordCountVectorsFeaturizer, tmp_path).vectorizers["text"].vocabulary_)
    assert WORDS <= vocabulary
    assert not {"क", "य", "आपक", "ब", "ख", "र", "ह"} & vocabulary
    assert {"hello", "there"} <= vocabulary  # Latin words as before


def test_a_sentence_is_analysed_into_its_words_and_latin_as_rasa_did(tmp_path: Path) -> None:
    (tmp_path / "ours").mkdir()
    (tmp_path / "rasa").mkdir()
    ours = _fitted(WholeWordCountVectorsFeaturizer, tmp_path / "ours").vectorizers["text"].build_analyzer()
    rasa = _fitted(CountVectorsFeaturizer, tmp_path / "rasa").vectorizers["text"].build_analyzer()
    assert ours(SENTENCE) == ["क्या", "आपके", "पास", "बुखार", "है"]
    assert ours("urgent consult for patient p-1122") == rasa("urgent consult for patient p-1122")
    assert ours("मरीज़ ठीक है।") == ["मरीज़", "ठीक", "है"]  # the danda ends the sentence, it is no letter


def test_the_pipeline_counts_words_with_it_not_with_rasas_word_featurizer() -> None:
    pipeline = yaml.safe_load((PROJECT_DIR / "config.yml").read_text(encoding="utf-8"))["pipeline"]
    word_level = [
        step["name"]
        for step in pipeline
        if "CountVectorsFeaturizer" in step["name"] and step.get("analyzer", "word") == "word"
    ]
    assert word_level == ["assistant.nlu.whole_word_featurizer.WholeWordCountVectorsFeaturizer"]


@pytest.mark.model
def test_the_trained_model_knows_devanagari_words_whole() -> None:
    """The model the assistant serves: its word featurizer's stored vocabulary."""
    import json
    import tarfile

    from tests.support.stack import trained_model

    with tarfile.open(trained_model()) as archive:
        names = [m for m in archive.getmembers() if m.name.endswith("vocabularies.json") and "WholeWord" in m.name]
        assert names, "no whole-word featurizer in the trained model"
        file = archive.extractfile(names[0])
        assert file is not None
        vocabulary = json.load(file)
    words = set(vocabulary["text"] if "text" in vocabulary else vocabulary)
    assert {"बुखार", "डॉक्टर", "चाहिए"} <= words
    assert "क" not in words and "ड" not in words


def test_a_message_of_no_known_word_is_marked_and_becomes_a_fallback(tmp_path: Path) -> None:
    from rasa.shared.nlu.constants import ENTITIES, INTENT

    from assistant.nlu.canonical_entities import CanonicalEntityMapper
    from assistant.nlu.whole_word_featurizer import NO_KNOWN_WORD

    featurizer = _fitted(WholeWordCountVectorsFeaturizer, tmp_path)
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    said = {text: Message.build(text) for text in ("xqzt blorp vrrm", "hello blorp", "4521", "बुखार")}
    tokenizer.process(list(said.values()))
    featurizer.process(list(said.values()))
    # Only letters, and no word the training data had: marked. A known word, or a number, is not.
    assert [text for text, message in said.items() if message.get(NO_KNOWN_WORD)] == ["xqzt blorp vrrm"]

    mapper = CanonicalEntityMapper.create(
        CanonicalEntityMapper.get_default_config(),
        LocalModelStorage(tmp_path),
        Resource("mapper"),
        ExecutionContext(graph_schema=None, model_id="test"),  # type: ignore[arg-type]
    )
    noise, known = said["xqzt blorp vrrm"], said["hello blorp"]
    for message in (noise, known):
        message.set(INTENT, {"name": "get_checklist", "confidence": 0.99})
        message.set(ENTITIES, [])
    mapper.process([noise, known])
    assert noise.get(INTENT)["name"] == "nlu_fallback"
    assert known.get(INTENT)["name"] == "get_checklist"
