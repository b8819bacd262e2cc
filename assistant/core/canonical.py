"""Map what a worker said ("dil wale doctor", "bachon ka docter", "ORS") to a canonical value.

Rasa's synonym mapper only knows exact spans. Speech recognisers and typing
on a small phone produce near misses, and a worker answering "which
specialty?" may say a whole sentence. This module resolves both, using the
same synonym lists the NLU trains on (``nlu/synonyms.yml``):

1. the whole text is a canonical value or a known synonym;
2. otherwise the longest known synonym whose words all occur in the text,
   allowing small spelling differences ("cardiolgy", "bacchon");
3. otherwise a close match of the whole text;
4. otherwise a known phrase found whole in it, also spelled letter by letter
   ("o r s", "बी पी"), or a description of a specialty or a procedure
   ("gurdon ke doctor", "patti badalne ka tarika": ``assistant.core.descriptions``).

Used by the NLU pipeline (``CanonicalEntityMapper``) and the form validation
of the action server, so both agree on what a phrase means.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml

from assistant.core.description_match import DescriptionFinder, only_fillers, spelled_out
from assistant.core.descriptions import LETTER_NAMES
from assistant.core.vocabulary import LANGUAGES, PROCEDURES, SEXES, SPECIALTIES, URGENCIES

# Fields a worker can name when correcting a read-back. They are slot names.
FIELDS: tuple[str, ...] = (
    "patient_id",
    "age",
    "sex",
    "complaint",
    "vitals",
    "notes",
    "specialty",
    "urgency",
    "reason",
)

KINDS: dict[str, tuple[str, ...]] = {
    "specialty": tuple(SPECIALTIES),
    "urgency": URGENCIES,
    "sex": SEXES,
    "procedure": PROCEDURES,
    "field": FIELDS,
    "language": LANGUAGES,
}

_WORD_RE = re.compile(r"[a-z0-9\u0900-\u097f]+")
# Below this similarity two words are different words ("heart" vs "hearing").
_WORD_SIMILARITY = 0.8
_TEXT_SIMILARITY = 0.88
# A one-word phrase this short may be an acronym said letter by letter ("ors", "bp", "ent", "pph").
_ACRONYM_RE = re.compile(r"[a-z]{2,4}")
_BOUNDARY = r"[\w\u0900-\u097f]"


def normalise(text: str) -> str:
    """Lower case, no punctuation, Devanagari nukta and chandrabindu folded."""
    text = unicodedata.normalize("NFD", text.lower()).replace("\u093c", "").replace("\u0901", "\u0902")
    return " ".join(_WORD_RE.findall(unicodedata.normalize("NFC", text)))


def _similar(a: str, b: str) -> bool:
    if a == b:
        return True
    if min(len(a), len(b)) < 4:  # short words must match exactly ("ka" vs "ke")
        return False
    return difflib.SequenceMatcher(None, a, b).ratio() >= _WORD_SIMILARITY


class Canonicaliser:
    """Resolves phrases to canonical values, per kind of entity."""

    def __init__(self, synonyms: Mapping[str, str], kinds: Mapping[str, Iterable[str]] = KINDS) -> None:
        self.kinds = {kind: tuple(values) for kind, values in kinds.items()}
        kind_of_value = {value: kind for kind, values in self.kinds.items() for value in values}
        # kind -> normalised phrase -> canonical value
        self._phrases: dict[str, dict[str, str]] = {kind: {} for kind in self.kinds}
        for kind, values in self.kinds.items():
            for value in values:
                self._phrases[kind][normalise(value.replace("_", " "))] = value
        for phrase, value in synonyms.items():
            owner = kind_of_value.get(value)
            if owner is not None and normalise(phrase):
                self._phrases[owner].setdefault(normalise(phrase), value)
        self._phrase_patterns: dict[str, re.Pattern[str]] = {}
        self._descriptions = {kind: DescriptionFinder.of(kind) for kind in self.kinds}

    @classmethod
    def from_nlu_files(cls, paths: Iterable[Path]) -> Canonicaliser:
        """Build from Rasa YAML training files (their ``synonym`` entries)."""
        synonyms: dict[str, str] = {}
        for path in paths:
            content = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
            for item in content.get("nlu", []) or []:
                if "synonym" in item:
                    for line in str(item.get("examples", "")).splitlines():
                        phrase = line.strip().removeprefix("- ").strip()
                        if phrase:
                            synonyms[phrase] = str(item["synonym"])
        return cls(synonyms)

    def is_canonical(self, kind: str, value: str) -> bool:
        return value in self.kinds.get(kind, ())

    def canonical(self, kind: str, text: str | None) -> str | None:
        """The canonical value of ``kind`` that ``text`` names, or ``None``."""
        phrases = self._phrases.get(kind)
        if not phrases or not text:
            return None
        if text in self.kinds[kind]:
            return text
        said = normalise(text)
        if not said:
            return None
        if said in phrases:
            return phrases[said]
        words = said.split()
        best: tuple[int, str] | None = None
        for phrase, value in phrases.items():
            phrase_words = phrase.split()
            if all(any(_similar(p, w) for w in words) for p in phrase_words):
                score = len(phrase)
                if best is None or score > best[0]:
                    best = (score, value)
        if best is not None:
            return best[1]
        close = difflib.get_close_matches(said, list(phrases), n=1, cutoff=_TEXT_SIMILARITY)
        if close:
            return phrases[close[0]]
        found = self.find(kind, text)
        return found[0] if found else None

    def find(self, kind: str, text: str) -> tuple[str, int, int] | None:
        """The value of ``kind`` that a known phrase or a description in ``text`` names, with its span.

        Only whole known phrases count (or spelled letter by letter), never near
        misses: this looks inside a sentence the statistical extractor passed
        over, where a loose match would invent entities. Descriptions match
        word by word, in their inflected forms (``assistant.core.description_match``).
        """
        phrase = self._find_phrase(kind, text)
        if phrase is not None:
            return phrase
        finder = self._descriptions.get(kind)
        described = finder.find(text) if finder else None
        return (described.value, described.start, described.end) if described else None

    def answer(self, kind: str, text: str) -> tuple[str, int, int] | None:
        """The value of ``kind`` when ``text`` says nothing else ("dil wale", "the eye one", "बच्चे"), with its span."""
        found = self.find(kind, text)
        if found is None or not only_fillers(text[: found[1]] + " " + text[found[2] :]):
            return None
        return found

    def phrase_around(self, kind: str, text: str, start: int, end: int) -> tuple[str, int, int] | None:
        """A longer known phrase of ``kind`` that holds the span ``start:end`` ("NOT urgent", "jaldi NAHI")."""
        pattern = self._pattern(kind)
        for match in pattern.finditer(text) if pattern else ():
            if match.start() <= start and match.end() >= end and match.end() - match.start() > end - start:
                value = self._phrases[kind].get(normalise(match.group(0)))
                return (value, match.start(), match.end()) if value else None
        return None

    def _find_phrase(self, kind: str, text: str) -> tuple[str, int, int] | None:
        pattern = self._pattern(kind)
        match = pattern.search(text) if pattern else None
        if match is None:
            return None
        said = normalise(match.group(0))
        value = self._phrases[kind].get(said) or self._phrases[kind].get(spelled_out(said) or "")
        return (value, match.start(), match.end()) if value else None

    def _pattern(self, kind: str) -> re.Pattern[str] | None:
        pattern = self._phrase_patterns.get(kind)
        if pattern is None:
            phrases = self._phrases.get(kind) or {}
            if not phrases:
                return None
            # Longest first, so "dil ke doctor" wins over "dil".
            alternatives = sorted(phrases, key=len, reverse=True)
            body = "|".join(
                [r"\W+".join(map(re.escape, phrase.split())) for phrase in alternatives]
                + [_spelled_pattern(phrase) for phrase in alternatives if _ACRONYM_RE.fullmatch(phrase)]
            )
            pattern = re.compile(rf"(?<!{_BOUNDARY})(?:{body})(?!{_BOUNDARY})", re.IGNORECASE)
            self._phrase_patterns[kind] = pattern
        return pattern


def _spelled_pattern(word: str) -> str:
    """A regex for ``word`` said letter by letter, in Latin letters or their Devanagari names ("o r s", "बी पी")."""
    letters = ["(?:" + "|".join([re.escape(letter), *map(re.escape, LETTER_NAMES[letter])]) + ")" for letter in word]
    return r"[\s.\-]+".join(letters)
