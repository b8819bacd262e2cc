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

import re
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from sklearn.feature_extraction.text import CountVectorizer

WORD_PATTERN = r"(?u)[\w\u0900-\u0963\u0966-\u097f]+"
# Set on a message of letters only, none of whose words the training data ever had ("xqzt blorp vrrm"):
# whatever the classifier makes of it comes from letter shapes alone, so the CanonicalEntityMapper turns
# it into a fallback (asked again) rather than an action. A number, or an entity found, keeps it as it is.
NO_KNOWN_WORD = "no_known_word"
_LETTERS_ONLY = re.compile(r"[^\W\d_]+(?:\s+[^\W\d_]+)*", re.UNICODE)


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

    def process(self, messages: list[Message]) -> list[Message]:
        messages = super().process(messages)
        vectorizer = self.vectorizers.get(TEXT)
        known = getattr(vectorizer, "vocabulary_", None)
        if vectorizer is None or not known:
            return messages
        analyze = vectorizer.build_analyzer()
        for message in messages:
            text = " ".join((message.get(TEXT) or "").split())
            if text and _LETTERS_ONLY.fullmatch(text) and not any(word in known for word in analyze(text)):
                message.set(NO_KNOWN_WORD, True)
        return messages
