"""Rasa pipeline component: word counts that see whole Devanagari words.

Rasa 3.6's word-level ``CountVectorsFeaturizer`` hands the tokens to
scikit-learn with the pattern ``(?u)\\b\\w+\\b``. Python's ``\\w`` does not
match Devanagari vowel signs or the virama, so "क्या आपके पास बुखार है"
reached the word features as "क, य, आपक, प, स, ब, ख, र, ह": different words
shared features and no Hindi word had its own. This featurizer is that one
with a pattern that keeps a Devanagari word whole (its letters, vowel signs
and virama, but not the danda, which ends a sentence); Latin text is split
exactly as before.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from sklearn.feature_extraction.text import CountVectorizer

WORD_PATTERN = r"(?u)[\w\u0900-\u0963\u0966-\u097f]+"


def _whole_words(vectorizers: dict[str, CountVectorizer]) -> dict[str, CountVectorizer]:
    for vectorizer in vectorizers.values():
        if vectorizer.analyzer == "word":
            vectorizer.set_params(token_pattern=WORD_PATTERN)
    return vectorizers


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class WholeWordCountVectorsFeaturizer(CountVectorsFeaturizer):
    """``CountVectorsFeaturizer`` whose word analyzer keeps Devanagari words whole."""

    @classmethod
    def _create_shared_vocab_vectorizers(
        cls, parameters: dict[str, Any], vocabulary: Any | None = None
    ) -> dict[str, CountVectorizer]:
        return _whole_words(super()._create_shared_vocab_vectorizers(parameters, vocabulary))

    @classmethod
    def _create_independent_vocab_vectorizers(
        cls, parameters: dict[str, Any], vocabulary: Any | None = None
    ) -> dict[str, CountVectorizer]:
        return _whole_words(super()._create_independent_vocab_vectorizers(parameters, vocabulary))
