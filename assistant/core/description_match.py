"""Find the descriptions of ``assistant.core.descriptions`` in what a worker said, however inflected.

Each word of a description is listed once, in its base form; the forms it
takes in speech are made here: Hindi plurals and oblique cases ("gurda",
"gurde", "gurdon"; "हड्डी", "हड्डियों"), verb endings ("badalna", "badalne",
"बदलें") and English plurals and "-ing". Romanised Hindi is folded first
(``fold_romanised``: "aankhon" and "ankhon" are one word), and Devanagari
nukta and chandrabindu variants compare equal. A word matches only as one of
its own forms, never as a prefix, so "had" is not "haddi".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from assistant.core.descriptions import (
    ANCHORED_DESCRIPTIONS,
    DESCRIPTIONS,
    DOCTOR_WORDS,
    ILLNESS_WORDS,
    LETTER_NAMES,
    LINKING_WORDS,
)
from assistant.core.spoken_numbers import fold_romanised

# A word of the text: Latin letters and digits, or Devanagari letters with their vowel signs (not the danda).
WORD_RE = re.compile(r"[A-Za-z0-9\u0900-\u0963\u0966-\u097f]+")
_DEVANAGARI_RE = re.compile(r"[\u0900-\u097f]")

# Endings any base form may take, and those that replace a final vowel ("gurda" -> "gurde", "हड्डी" -> "हड्डियों").
_LATIN_ENDINGS = (
    "s", "es", "on", "en", "ein", "yon", "yan", "o", "e", "na", "ne", "ni", "ta", "te", "ti", "iye", "kar",
    "ye", "yen", "ing", "ed",
)  # fmt: skip
_LATIN_VOWEL_ENDINGS = {"a": ("e", "on", "o", "en"), "e": ("ing", "ed", "es"), "y": ("ies",)}
_DEVANAGARI_ENDINGS = ("ों", "ें", "ो", "े", "ना", "ने", "नी", "ते", "ता", "ती", "एं", "ए", "ये", "कर")
_DEVANAGARI_VOWEL_ENDINGS = {"ा": ("े", "ों", "ो"), "ी": ("ियों", "ियां", "ियो", "ि")}
_MIN_STEM = 2
# How far (in words) a doctor or illness word may be from an everyday word for it to count ("mann KI BIMARI").
_ANCHOR_WINDOW = 3


def word_key(word: str) -> str:
    """One spelling per word: romanised Hindi folded, Devanagari nukta and chandrabindu folded."""
    if _DEVANAGARI_RE.search(word):
        text = unicodedata.normalize("NFD", unicodedata.normalize("NFC", word))
        return unicodedata.normalize("NFC", text.replace("\u093c", "").replace("\u0901", "\u0902"))
    return fold_romanised(word)


def forms(word: str) -> set[str]:
    """The keys of the forms a base word takes in speech."""
    key = word_key(word)
    devanagari = bool(_DEVANAGARI_RE.search(key))
    endings, vowel_endings = (
        (_DEVANAGARI_ENDINGS, _DEVANAGARI_VOWEL_ENDINGS) if devanagari else (_LATIN_ENDINGS, _LATIN_VOWEL_ENDINGS)
    )
    found = {key, *(key + ending for ending in endings)}
    stem = key[:-1]
    if key[-1:] in vowel_endings and len(stem) >= _MIN_STEM:
        found |= {stem + ending for ending in vowel_endings[key[-1]]}
    return found


def _index(words: Iterable[str]) -> frozenset[str]:
    return frozenset(form for word in words for form in forms(word))


# Linking words as said ("ka" is no form of anything); doctor and illness words in all their forms.
_FILLERS = frozenset(word_key(word) for word in LINKING_WORDS) | _index((*DOCTOR_WORDS, *ILLNESS_WORDS))
_ANCHORS = _index((*DOCTOR_WORDS, *ILLNESS_WORDS))
_DOCTORS = _index(DOCTOR_WORDS)
_LETTERS = {
    **{letter: letter for letter in LETTER_NAMES},
    **{word_key(name): letter for letter, names in LETTER_NAMES.items() for name in names},
}


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    key: str


@dataclass(frozen=True)
class Found:
    value: str
    start: int
    end: int


@dataclass(frozen=True)
class _Description:
    value: str
    words: tuple[frozenset[str], ...]  # the forms of each word
    anchored: bool


def tokens(text: str) -> list[Token]:
    return [Token(m.start(), m.end(), word_key(m.group())) for m in WORD_RE.finditer(text)]


def only_fillers(text: str) -> bool:
    """Whether ``text`` holds nothing but words around a description ("wale", "ka", "the ... one", "doctor")."""
    return all(token.key in _FILLERS for token in tokens(text))


def spelled_out(text: str) -> str | None:
    """The word that ``text`` spells letter by letter ("o r s", "बी पी" -> "ors", "bp"), else ``None``."""
    letters = [_LETTERS.get(token.key) for token in tokens(text)]
    if len(letters) < 2 or None in letters:
        return None
    return "".join(letter for letter in letters if letter)


class DescriptionFinder:
    """The value of one kind (specialty, procedure) that a description in a text names."""

    def __init__(
        self, descriptions: Mapping[str, Iterable[str]], anchored: Mapping[str, Iterable[str]] | None = None
    ) -> None:
        self._descriptions = [
            _Description(value, tuple(_index([word]) for word in phrase.split()), is_anchored)
            for is_anchored, table in ((False, descriptions), (True, anchored or {}))
            for value, phrases in table.items()
            for phrase in phrases
        ]

    @classmethod
    def of(cls, kind: str) -> DescriptionFinder | None:
        """The finder for a kind with descriptions in ``assistant.core.descriptions``."""
        if kind not in DESCRIPTIONS:
            return None
        return cls(DESCRIPTIONS[kind], ANCHORED_DESCRIPTIONS.get(kind))

    def find(self, text: str) -> Found | None:
        """The most specific description in ``text``: most words, then nearest a doctor word, then first."""
        said = tokens(text)
        doctors = [i for i, token in enumerate(said) if token.key in _DOCTORS]
        best: tuple[tuple[int, int, int], Found] | None = None
        for description in self._descriptions:
            positions = [next((i for i, t in enumerate(said) if t.key in word), None) for word in description.words]
            if None in positions:
                continue
            at = [p for p in positions if p is not None]
            if description.anchored and not self._anchored(said, at):
                continue
            distance = min((abs(d - p) for d in doctors for p in at), default=len(said))
            rank = (len(at), -distance, -min(at))
            if best is None or rank > best[0]:
                best = (rank, Found(description.value, said[min(at)].start, said[max(at)].end))
        return best[1] if best else None

    @staticmethod
    def _anchored(said: list[Token], at: list[int]) -> bool:
        return any(
            said[i].key in _ANCHORS
            for p in at
            for i in range(max(0, p - _ANCHOR_WINDOW), min(len(said), p + _ANCHOR_WINDOW + 1))
            if i != p
        )
