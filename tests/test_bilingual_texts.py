"""Every text the assistant or its channels say is written in English and Hindi, wherever it is written.

Nobody registers a text here: the test reads the project and finds them.

- Python (``assistant/``, ``actions/``, ``voice/``, ``bench/``): every dict literal keyed ``"en"`` / ``"hi"``
  whose values are words (a string, an f-string, a ``+`` of them), at any depth, in any function; and every
  call of a function whose first two parameters are ``english, hindi`` (``channel_texts._both``).
- YAML (the project's top-level files, and those under ``assistant/``, ``actions/``, ``voice/``): every
  mapping keyed ``en`` / ``hi`` with words (the seed checklists), and each of domain.yml's responses, which
  is an English variant and one conditioned on the ``language`` slot being ``hi``.

Each pair needs both languages, the same ``{placeholders}``, the same values interpolated by an f-string
(``{EMERGENCY_NUMBER}``; ``X["en"]`` and ``X["hi"]`` count as the same value), English that is not
Devanagari, and Hindi that is: a copy of the English fails. A text made of other texts
(``f"{CALL_AMBULANCE['hi']} ..."``) is checked for its own words, and each piece where it is written.
Values computed elsewhere (``{"en": notice.text_en, ...}``) and word lists that are not texts
(``{"en": ("hundred",), ...}``) are not pairs.

A second net catches a text written without the pair shape: an English sentence assigned at a module's
top level, outside any pair, fails unless ``ENGLISH_ONLY`` says why it is meant for English readers only.
Not read: the web chat page's own HTML and script, and sentences written inside a function body.
"""

from __future__ import annotations

import ast
import copy
import re
import string
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.core.config import PROJECT_DIR

PYTHON_ROOTS = ("assistant", "actions", "voice", "bench")
YAML_ROOTS = ("assistant", "actions", "voice", "clinical")
LANGUAGES = ("en", "hi")
LANGUAGE_SLOT = "language"
PAIR_PARAMETERS = ["english", "hindi"]
# Deliberately English, each with its reason: a module, a package ("dir/"), or one name ("module:NAME").
ENGLISH_ONLY: dict[str, str] = {
    "assistant/backend/": "the HTTP API's documentation and errors, read by developers and the systems that call it "
    "(what a worker hears of the backend's comes from assistant/domain)",
    "assistant/domain/records.py:QUEUED_NOTES": "the API's `advice` has no language; the worker hears "
    "actions/texts.py's consult_with_hub instead",
    "assistant/console/": "the console is for supervisors and hub staff, in English (docs/console.md)",
    "assistant/core/metrics.py": "the figures' descriptions and the refusal of /metrics, read by monitoring "
    "tools and whoever looks after the machine (docs/operations.md)",
    "voice/errors.py:INSTALL_HINT": "set-up advice on the command line, for whoever installs the voice loop",
    "voice/whisper_engine.py:WHISPER_HINT": "set-up advice on the command line, for whoever installs the voice loop",
}

DEVANAGARI = re.compile(r"[\u0900-\u097f]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
INTERPOLATED = "\u2022"  # stands for an f-string's value among its words: no letter, no brace


@dataclass(frozen=True)
class Words:
    """One language's side of a pair as written: its own words, and what an f-string interpolates."""

    text: str
    values: tuple[str, ...] = ()

    def placeholders(self) -> set[str] | None:
        """The ``{names}`` left to ``str.format`` (None: the braces do not parse)."""
        try:
            return {name for _, name, _, _ in string.Formatter().parse(self.text) if name is not None}
        except ValueError:
            return None


@dataclass(frozen=True)
class Pair:
    file: str  # relative to the project
    where: str  # the file, and where in it
    english: Words | None
    hindi: Words | None
    name: str = ""  # the top-level name it is assigned under, in Python


def problems(pair: Pair) -> list[str]:
    """What is wrong with one pair: nothing, for a good one."""
    if pair.english is None or not pair.english.text.strip():
        return [f"{pair.where}: no English"]
    if pair.hindi is None or not pair.hindi.text.strip():
        return [f"{pair.where}: no Hindi"]
    english, hindi = pair.english, pair.hindi
    found = []
    blanks = english.placeholders(), hindi.placeholders()
    if None in blanks:
        found.append(f"{pair.where}: unbalanced braces")
    elif blanks[0] != blanks[1]:
        found.append(
            f"{pair.where}: placeholders {sorted(blanks[0] or ())} in English, {sorted(blanks[1] or ())} in Hindi"
        )
    if Counter(english.values) != Counter(hindi.values):
        found.append(f"{pair.where}: interpolates {sorted(english.values)} in English, {sorted(hindi.values)} in Hindi")
    if DEVANAGARI.search(english.text):
        found.append(f"{pair.where}: the English is in Devanagari")
    if LATIN_WORD.search(_without_placeholders(english.text)) and not DEVANAGARI.search(hindi.text):
        found.append(f"{pair.where}: the Hindi is not in Devanagari: {hindi.text!r}")
    return found


def _without_placeholders(text: str) -> str:
    return re.sub(r"\{[^{}]*\}", "", text)


# --- Python -----------------------------------------------------------------------------------------------


class _SameLanguage(ast.NodeTransformer):
    """``X["en"]`` and ``X["hi"]`` are the same value, in its two languages."""

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        return ast.Constant("<language>") if node.value in LANGUAGES else node


def words_of(node: ast.AST | None) -> Words | None:
    """The words a string, f-string or ``+`` of them writes; None for anything else (a name, a call...)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return Words(node.value)
    if isinstance(node, ast.JoinedStr):
        text, values = "", []
        for part in node.values:
            if isinstance(part, ast.Constant):
                text += str(part.value)
            elif isinstance(part, ast.FormattedValue):
                text += INTERPOLATED
                values.append(ast.unparse(_SameLanguage().visit(copy.deepcopy(part.value))))
        return Words(text, tuple(values))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = words_of(node.left), words_of(node.right)
        if left is not None and right is not None:
            return Words(left.text + right.text, left.values + right.values)
    return None


def _labelled(node: ast.AST, label: str) -> Iterator[tuple[ast.AST, str]]:
    """Every node under ``node``, with where it sits in a dict (``MESSAGES['ask_age']``)."""
    yield node, label
    if isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            if key is not None:
                yield from _labelled(key, label)
            inner = f"{label}[{key.value!r}]" if label and isinstance(key, ast.Constant) else label
            yield from _labelled(value, inner)
    else:
        for child in ast.iter_child_nodes(node):
            yield from _labelled(child, label)


def _assigned_name(statement: ast.stmt) -> str:
    targets = statement.targets if isinstance(statement, ast.Assign) else [getattr(statement, "target", None)]
    names = [target.id for target in targets if isinstance(target, ast.Name)]
    return names[0] if names else ""


def pair_functions(tree: ast.AST) -> set[str]:
    """Names of the functions that take a text as ``(english, hindi)``."""
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and [argument.arg for argument in node.args.args[:2]] == PAIR_PARAMETERS
    }


def _called(node: ast.Call) -> str:
    return node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")


def python_pairs(tree: ast.Module, where: str, functions: set[str]) -> tuple[list[Pair], set[int]]:
    """The module's pairs, and the ids of the nodes that are their sides."""
    pairs, sides = [], set()
    for statement in tree.body:
        name = _assigned_name(statement)
        for node, label in _labelled(statement, name):
            at = f"{where}:{getattr(node, 'lineno', '?')}" + (f" ({label})" if label else "")
            if isinstance(node, ast.Dict):
                by_key = {
                    k.value: v for k, v in zip(node.keys, node.values, strict=True) if isinstance(k, ast.Constant)
                }
                if not set(LANGUAGES) & set(by_key):
                    continue
                english, hindi = words_of(by_key.get("en")), words_of(by_key.get("hi"))
                if english is None and hindi is None:
                    continue  # computed elsewhere, or not words at all
                pairs.append(Pair(where, at, english, hindi, name))
                sides |= {id(by_key[language]) for language in LANGUAGES if language in by_key}
            elif isinstance(node, ast.Call) and _called(node) in functions and len(node.args) >= 2:
                pairs.append(Pair(where, at, words_of(node.args[0]), words_of(node.args[1]), name))
                sides |= {id(node.args[0]), id(node.args[1])}
    return pairs, sides


def _is_sentence(words: Words) -> bool:
    text = words.text.strip()
    return bool(re.match(r"[A-Z]", text)) and text[-1:] in ".?!" and len(text.split()) >= 3


@dataclass(frozen=True)
class Lone:
    """An English sentence at a module's top level that is no side of a pair."""

    file: str
    name: str
    problem: str

    def exemption(self) -> str | None:
        """The ``ENGLISH_ONLY`` entry that says why it has no Hindi, if one does."""
        for key in ENGLISH_ONLY:
            if key in (self.file, f"{self.file}:{self.name}") or (key.endswith("/") and self.file.startswith(key)):
                return key
        return None


def lone_english(tree: ast.Module, where: str, sides: set[int]) -> list[Lone]:
    """English sentences assigned at the module's top level that are no side of a pair."""
    found = []

    def visit(node: ast.AST, name: str) -> None:
        if id(node) in sides:
            return
        words = words_of(node) if isinstance(node, (ast.Constant, ast.JoinedStr)) else None
        if words is not None:
            if _is_sentence(words) and not DEVANAGARI.search(words.text):
                at = f"{where}:{getattr(node, 'lineno', '?')} ({name})"
                found.append(Lone(where, name, f"{at}: {words.text[:60]!r} has no Hindi"))
            return
        for child in ast.iter_child_nodes(node):
            visit(child, name)

    for statement in tree.body:
        if isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None:
            visit(statement.value, _assigned_name(statement))
    return found


def python_modules() -> Iterator[tuple[str, str]]:
    for root in PYTHON_ROOTS:
        for path in sorted((PROJECT_DIR / root).rglob("*.py")):
            yield str(path.relative_to(PROJECT_DIR)), path.read_text(encoding="utf-8")


def python_findings() -> tuple[list[Pair], list[Lone]]:
    """Every pair in the project's Python, and every lone English sentence (exempt or not)."""
    trees = [(where, ast.parse(source, where)) for where, source in python_modules()]
    functions = set().union(*(pair_functions(tree) for _, tree in trees))
    pairs, lone = [], []
    for where, tree in trees:
        found, sides = python_pairs(tree, where, functions)
        pairs += found
        lone += lone_english(tree, where, sides)
    return pairs, lone


# --- YAML ---------------------------------------------------------------------------------------------------


def yaml_pairs(data: Any, file: str, where: str = "") -> Iterator[Pair]:
    """Mappings keyed ``en`` / ``hi`` with words, at any depth."""
    if isinstance(data, dict):
        english, hindi = data.get("en"), data.get("hi")
        if isinstance(english, str) or isinstance(hindi, str):
            yield Pair(
                file,
                f"{file} {where}",
                Words(english) if isinstance(english, str) else None,
                Words(hindi) if isinstance(hindi, str) else None,
            )
        for key, value in data.items():
            yield from yaml_pairs(value, file, f"{where}.{key}" if where else str(key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from yaml_pairs(item, file, f"{where}[{index}]")


def _language_of(variant: dict[str, Any]) -> str:
    """ "default" for a variant without conditions, else the language it is conditioned on."""
    conditions = variant.get("condition") or []
    languages = [c.get("value") for c in conditions if c.get("type") == "slot" and c.get("name") == LANGUAGE_SLOT]
    if not conditions:
        return "default"
    return str(languages[0]) if len(languages) == len(conditions) == 1 else "another condition"


def response_pairs(domain: dict[str, Any], file: str) -> tuple[list[Pair], list[str]]:
    """domain.yml's responses as pairs: the unconditioned variant is English, the ``language: hi`` one Hindi."""
    pairs, found = [], []
    for name, variants in (domain.get("responses") or {}).items():
        by_language: dict[str, list[dict[str, Any]]] = {}
        for variant in variants:
            by_language.setdefault(_language_of(variant), []).append(variant)
        shape = {language: len(found_variants) for language, found_variants in by_language.items()}
        if shape != {"default": 1, "hi": 1}:
            found.append(f"{file} {name}: needs one English and one Hindi variant, has {shape}")
            continue
        english, hindi = by_language["default"][0].get("text"), by_language["hi"][0].get("text")
        pairs.append(Pair(file, f"{file} {name}", Words(english or ""), Words(hindi or ""), name))
    return pairs, found


def yaml_files() -> Iterator[Path]:
    yield from sorted(PROJECT_DIR.glob("*.yml"))
    for root in YAML_ROOTS:
        for pattern in ("*.yml", "*.yaml"):
            yield from sorted((PROJECT_DIR / root).rglob(pattern))


def yaml_findings() -> tuple[list[Pair], list[str]]:
    pairs, found = [], []
    for path in yaml_files():
        where = str(path.relative_to(PROJECT_DIR))
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        pairs += yaml_pairs(data, where)
        if path == PROJECT_DIR / "domain.yml":
            responses, wrong = response_pairs(data, where)
            pairs += responses
            found += wrong
    return pairs, found


def every_pair() -> tuple[list[Pair], list[str]]:
    """All the project's pairs, and what is wrong beyond them."""
    python, lone = python_findings()
    in_yaml, wrong = yaml_findings()
    return python + in_yaml, [found.problem for found in lone if found.exemption() is None] + wrong


def pairs_by_file(pairs: list[Pair]) -> Counter[str]:
    return Counter(pair.file for pair in pairs)


# --- the tests ----------------------------------------------------------------------------------------------


def test_every_text_has_its_english_and_its_hindi() -> None:
    pairs, found = every_pair()
    wrong = [problem for pair in pairs for problem in problems(pair)] + found
    assert not wrong, "\n".join(["", *wrong])


def test_the_search_finds_each_way_a_text_is_written() -> None:
    """Dict literals, ``_both`` calls, composed f-strings, YAML mappings and domain responses: a search that
    stopped seeing one of them would pass for the wrong reason."""
    pairs, _ = every_pair()
    counts = pairs_by_file(pairs)
    for where in (
        "actions/texts.py",  # dict literals
        "assistant/channels/channel_texts.py",  # _both(english, hindi)
        "clinical/checklists/hand_hygiene.yaml",
        "domain.yml",
    ):
        assert counts[where] > 0, f"no texts found in {where}"
    composed = [pair.english.values for pair in pairs if pair.file == "actions/texts.py" and pair.english]
    assert ("CALL_AMBULANCE['<language>']",) in composed


def test_every_english_only_exemption_is_still_needed() -> None:
    """An exemption whose text is gone, or has its Hindi now, goes: the list stays small and true."""
    _, lone = python_findings()
    used = {found.exemption() for found in lone}
    assert [key for key in ENGLISH_ONLY if key not in used] == []


def test_the_apology_rasa_falls_back_on_is_the_domains_own() -> None:
    """Written twice only because the fallback is for when domain.yml's response cannot be rendered."""
    pairs, _ = every_pair()
    fallback = next(
        p for p in pairs if p.file == "assistant/rasa_server/action_failures.py" and p.name == "FALLBACK_TEXT"
    )
    domain = next(p for p in pairs if p.file == "domain.yml" and p.name == "utter_action_failed")
    assert (fallback.english, fallback.hindi) == (domain.english, domain.hindi)


# --- the checker itself: each of these is a text that lost its Hindi, or its parity -------------------------


def _python_problems(source: str) -> list[str]:
    tree = ast.parse(source)
    pairs, sides = python_pairs(tree, "example.py", pair_functions(tree))
    lone = [found.problem for found in lone_english(tree, "example.py", sides)]
    return [problem for pair in pairs for problem in problems(pair)] + lone


@pytest.mark.parametrize(
    "source",
    [
        'X = {"en": "Please say it again."}',
        'X = {"en": "Please say it again.", "hi": ""}',
        'X = {"en": "Patient {id} is booked.", "hi": "मरीज़ बुक हो गया।"}',
        'X = {"en": "Booked.", "hi": "Booked."}',
        'X = {"en": "Booked.", "hi": HINDI}',
        'X = {"en": "बुक हो गया।", "hi": "बुक हो गया।"}',
        'X = {"en": f"Call {NUMBER} now.", "hi": "अभी कॉल करें।"}',
        'X = {"key": {"en": "Call now.", "hi": "Call now."}}',
        'def f():\n    return {"en": "Saved on this phone.", "hi": "Saved on this phone."}[language]',
        'def _both(english, hindi):\n    return english\nX = _both("Sorry, try again.", "Sorry, try again.")',
        'X = "Sorry, please say it again."',
        'X = ("Sorry, the hub is down.", 3)',
    ],
)
def test_the_checker_finds_a_text_without_its_hindi(source: str) -> None:
    assert _python_problems(source) != []


@pytest.mark.parametrize(
    "source",
    [
        'X = {"en": "Patient {id} is booked.", "hi": "मरीज़ {id} बुक हो गया।"}',
        'X = {"en": f"Call {NUMBER} now.", "hi": f"अभी {NUMBER} पर कॉल करें।"}',
        "X = {\"en\": f\"{A['en']} {B['en']}\", \"hi\": f\"{A['hi']} {B['hi']}\"}",
        'X = {"en": ("hundred", "hundered"), "latin": ("sau",)}',  # words to recognise, not a text
        'X = {"en": settings.voice_en, "hi": settings.voice_hi}',  # computed elsewhere
        'X = {"en": "SpO2", "hi": "ऑक्सीजन"}',
        'LOG = "%s told"',
    ],
)
def test_the_checker_passes_a_good_pair(source: str) -> None:
    assert _python_problems(source) == []


def test_the_checker_reads_yaml_and_domain_responses() -> None:
    checklist = {"steps": [{"en": "Wash your hands.", "hi": "हाथ धोएं।"}, {"en": "Dry them.", "caution": False}]}
    assert [problems(pair) for pair in yaml_pairs(checklist, "x.yaml")] == [[], ["x.yaml steps[1]: no Hindi"]]
    hindi = [{"type": "slot", "name": "language", "value": "hi"}]
    domain = {
        "responses": {
            "utter_good": [{"text": "Hello {name}."}, {"condition": hindi, "text": "नमस्ते {name}।"}],
            "utter_blank": [{"text": "Hello {name}."}, {"condition": hindi, "text": "नमस्ते।"}],
            "utter_english": [{"text": "Goodbye."}],
        }
    }
    pairs, found = response_pairs(domain, "domain.yml")
    assert [bool(problems(pair)) for pair in pairs] == [False, True]
    assert found == ["domain.yml utter_english: needs one English and one Hindi variant, has {'default': 1}"]
