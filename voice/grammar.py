"""The command vocabulary: what a worker says to the assistant, for command mode.

Built at run time from what the rest of the project already knows, so it
follows the NLU as that grows:

- every example, synonym and lookup entry in the Rasa NLU training data
  (``nlu/*.yml``), with entity annotations reduced to their spoken text;
- the canonical vocabulary (``assistant.core.vocabulary``): checklist procedures,
  specialties, urgencies and sexes, in English and Hindi;
- number words, from the one spoken-numbers module.

Vosk gets the vocabulary as a runtime grammar, filtered to the words its model
has; whisper gets a short prompt built from it (see ``whisper_prompt``).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from assistant.core import descriptions, vocabulary
from assistant.core.config import PROJECT_DIR

log = logging.getLogger(__name__)

DEFAULT_NLU_DIR = PROJECT_DIR / "nlu"
DEFAULT_DOMAIN = PROJECT_DIR / "domain.yml"

# [spoken text](entity), [text](entity:value), [text]{"entity": ...}
_ENTITY_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
_NLU_SECTIONS = ("intent", "synonym", "lookup")


def words_of(text: str) -> list[str]:
    """Lower-cased words, punctuation removed; keeps Devanagari vowel signs.

    (``\\w`` in regular expressions drops Devanagari matras, so split on
    Unicode punctuation and symbol categories instead.) Apostrophes stay:
    English ASR vocabularies spell "don't" with one.
    """
    cleaned = "".join(" " if unicodedata.category(ch)[0] in "PSZ" and ch != "'" else ch for ch in text.lower())
    return [word.strip("'") for word in cleaned.split() if word.strip("'")]


def _example_lines(block: Any) -> Iterator[str]:
    if isinstance(block, str):
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("- "):
                yield line[2:].strip()
    elif isinstance(block, list):  # examples written as a YAML list of dicts/strings
        for item in block:
            text = item.get("text") if isinstance(item, dict) else item
            if isinstance(text, str):
                yield text.strip()


def _yaml_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(path.rglob("*.yml")) + sorted(path.rglob("*.yaml"))
    return [path] if path.is_file() else []


def _documents(path: Path) -> Iterator[dict[str, Any]]:
    """Each YAML mapping under ``path`` (a file or a folder of them)."""
    for file in _yaml_files(path):
        try:
            document = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (yaml.YAMLError, OSError) as exc:
            # The data is edited while we run; a half-written file must not stop the voice loop.
            log.warning("skipping %s: %s", file.name, exc)
            continue
        if isinstance(document, dict):
            yield document


def nlu_examples(nlu_dir: Path = DEFAULT_NLU_DIR) -> dict[str, list[str]]:
    """Spoken forms from the NLU data, keyed ``intent:NAME``, ``synonym:X`` or ``lookup:X``."""
    found: dict[str, list[str]] = {}
    for document in _documents(nlu_dir):
        for item in document.get("nlu") or []:
            for section in _NLU_SECTIONS if isinstance(item, dict) else ():
                if section in item:
                    found.setdefault(f"{section}:{item[section]}", []).extend(
                        _ENTITY_ANNOTATION.sub(r"\1", line) for line in _example_lines(item.get("examples"))
                    )
    return found


def domain_fields(domain: Path = DEFAULT_DOMAIN) -> list[str]:
    """The entities the dialogue collects ("patient id", "temperature", "spo2"), as spoken words."""
    fields: list[str] = []
    for document in _documents(domain):
        for entity in document.get("entities") or []:
            name = next(iter(entity)) if isinstance(entity, dict) else entity
            fields.append(str(name).replace("_", " "))
    return fields


def canonical_terms() -> list[str]:
    """Spoken names of checklists, specialties, urgencies and sexes (English and Hindi)."""
    terms = [slug.replace("_", " ") for slug in vocabulary.PROCEDURES]
    for names in vocabulary.SPECIALTIES.values():
        terms.extend(names.values())
    terms.extend(vocabulary.URGENCIES)
    terms.extend(vocabulary.SEXES)
    return terms


def description_words() -> list[str]:
    """The words that describe a specialty or a procedure (``assistant.core.descriptions``).

    In the command grammar, so a one-word answer such as "gurda" or "दिल" is heard in command mode too.
    """
    words = [*descriptions.DOCTOR_WORDS, *descriptions.ILLNESS_WORDS, *descriptions.LINKING_WORDS]
    for table in (*descriptions.DESCRIPTIONS.values(), *descriptions.ANCHORED_DESCRIPTIONS.values()):
        words.extend(phrase for phrases in table.values() for phrase in phrases)
    return words


def number_words() -> list[str]:
    """The number words a worker says, as the spoken-numbers module itself writes them.

    Rendering 0-99, the multipliers and a decimal through its public
    ``to_words`` (English, Hindi in Latin and in Devanagari script) gives
    exactly the canonical spellings, without a second copy of its tables.
    """
    from assistant.core.spoken_numbers import to_words

    values: list[float] = [*range(100), 100, 1000, 100_000, 0.5]
    words: set[str] = set()
    for language, script in (("en", "latin"), ("hi", "latin"), ("hi", "devanagari")):
        for value in values:
            words.update(to_words(value, language, script).split())
    return sorted(words)


@dataclasses.dataclass(frozen=True)
class CommandVocabulary:
    """Phrases a worker says in command mode, grouped by where they came from."""

    groups: dict[str, tuple[str, ...]]

    @classmethod
    def from_phrases(cls, phrases: Iterable[str], group: str = "phrases") -> CommandVocabulary:
        return cls({group: tuple(phrases)})

    @property
    def phrases(self) -> list[str]:
        return [phrase for group in self.groups.values() for phrase in group]

    @property
    def words(self) -> frozenset[str]:
        return frozenset(word for phrase in self.phrases for word in words_of(phrase))


def build_command_vocabulary(nlu_dir: Path = DEFAULT_NLU_DIR, domain: Path = DEFAULT_DOMAIN) -> CommandVocabulary:
    groups = {key: tuple(lines) for key, lines in nlu_examples(nlu_dir).items()}
    groups["terms"] = tuple(canonical_terms())
    groups["descriptions"] = tuple(description_words())
    groups["fields"] = tuple(domain_fields(domain))
    groups["numbers"] = tuple(number_words())
    if not any(key.startswith("intent:") for key in groups):
        log.warning("no NLU training examples under %s; command grammar has only the canonical vocabulary", nlu_dir)
    return CommandVocabulary(groups)


def vosk_grammar(vocab: CommandVocabulary, knows_word: Callable[[str], bool], unknown_token: str | None) -> list[str]:
    """The Vosk runtime grammar: each known word once, plus the model's unknown token.

    Vosk joins grammar entries into a loop where every entry costs the same,
    so listing whole phrases would not favour them over their words in any
    order; single words give the same language with a far smaller graph.
    Words the model lacks are dropped (Vosk would only warn about each).
    The unknown token lets speech outside the grammar come out as "unknown"
    instead of being forced onto the nearest command word.
    """
    grammar = sorted(word for word in vocab.words if knows_word(word))
    dropped = len(vocab.words) - len(grammar)
    if dropped:
        log.debug("command grammar: %d of %d words are not in the model's vocabulary", dropped, len(vocab.words))
    if unknown_token:
        grammar.append(unknown_token)
    return grammar


# Examples of these intents are what the assistant does not act on: no help as a prompt.
# Intents whose phrases stay out of Whisper's prompt: out_of_scope is not a command, and the day's tasks'
# most frequent words are romanised Hindi ("aaj kya karna hai"), which pulled the English model's decoding
# of other commands off course ("show me the ..." heard as "show me my ..."); "what is due today" is plain
# English that the model hears without help.
_NOT_COMMANDS = ("intent:out_of_scope", "intent:tasks_today")
# ... and said instead, in the English a worker says it to the English model.
_ENGLISH_COMMANDS = ("what is due today",)


def _representative(
    phrases: Iterable[str], frequency: dict[str, int], count: int, max_words: int, common_word: Callable[[str], bool]
) -> list[str]:
    """The ``count`` phrases made of the most frequent words (a typo is rare, so it loses)."""
    candidates = {}
    for phrase in phrases:
        words = words_of(phrase)
        if (
            words
            and len(words) <= max_words
            and all(w.isdigit() or (w.isascii() and w.isalpha() and common_word(w)) for w in words)
        ):
            candidates[" ".join(phrase.lower().split())] = min(frequency[w] for w in words)
    ranked = sorted(candidates, key=lambda p: (-candidates[p], len(p), p))
    return ranked[:count]


def _spelled_numbers(
    phrases: Iterable[str], numbers: set[str], common_word: Callable[[str], bool], count: int = 2, max_words: int = 8
) -> list[str]:
    """The examples richest in number words ("temperature ninety eight point six pulse seventy two").

    They end the prompt so that Whisper writes numbers as words, which
    ``assistant.core.spoken_numbers`` turns into digits reliably; left to itself
    tiny.en formats them unpredictably ("98, 0.6" for "ninety eight point six").
    """
    scored = {}
    for phrase in phrases:
        words = words_of(phrase)
        spelled = sum(1 for w in words if w in numbers)
        # ...with a field name in it: a number said on its own needs no example.
        if 2 <= spelled < len(words) <= max_words and all(
            w in numbers or (w.isascii() and w.isalpha() and common_word(w)) for w in words
        ):
            scored[" ".join(words)] = spelled
    return sorted(scored, key=lambda p: (-scored[p], len(p), p))[:count]


def whisper_prompt(
    vocab: CommandVocabulary,
    common_word: Callable[[str], bool] = lambda word: True,
    token_count: Callable[[str], int] = lambda text: len(text) // 4,
    max_tokens: int = 220,
    per_intent: int = 1,
    max_words: int = 4,
) -> str:
    """A decoder prompt for Whisper: domain terms, form fields, one typical command per intent, spelled numbers.

    Whisper reads the prompt as text that came before, so it favours these
    words and spellings. All canonical terms go in (checklists, specialties:
    the words a small model gets wrong), then the fields the forms ask for
    ("patient id", "temperature"), then per intent the command made of the
    most frequent words of the training data, so deliberately misspelt
    examples do not teach misspellings; only phrases of ``common_word``s (the
    engine passes "one token in the model's vocabulary"), which keeps romanised
    Hindi out of an English model's prompt. Whisper's prompt holds 223
    tokens, and it keeps the end of a longer one: we stop adding at
    ``max_tokens`` instead.
    """
    frequency: dict[str, int] = {}
    for phrase in vocab.phrases:
        for word in words_of(phrase):
            frequency[word] = frequency.get(word, 0) + 1
    chosen = [term for term in (*vocab.groups.get("terms", ()), *vocab.groups.get("fields", ())) if term.isascii()]
    commands = [
        (key, phrases)
        for key, phrases in vocab.groups.items()
        if key.startswith("intent:") and key not in _NOT_COMMANDS
    ]
    for _key, phrases in commands:
        chosen.extend(_representative(phrases, frequency, per_intent, max_words, common_word))
    chosen.extend(_ENGLISH_COMMANDS)
    chosen.extend(
        _spelled_numbers(
            [p for _key, phrases in commands for p in phrases], set(vocab.groups.get("numbers", ())), common_word
        )
    )
    prompt = ""
    for phrase in dict.fromkeys(chosen):
        candidate = f"{prompt}, {phrase}" if prompt else phrase
        if token_count(candidate + ".") > max_tokens:
            break
        prompt = candidate
    return prompt + "." if prompt else ""
