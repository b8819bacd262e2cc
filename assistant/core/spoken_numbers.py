"""The one normaliser of spoken numbers: English words, romanised Hindi, Devanagari.

Speech recognisers and field workers write numbers as words: "one forty over
ninety", "ninety eight point six", "ek sau chalis", "एक सौ चालीस", or with
Devanagari digits "१४०". The action server and the voice loop both call this
module (see docs/contracts.md); nobody writes a second one.

Public API (stable):

- ``normalise_numbers(text)`` rewrites number phrases inside a sentence to
  digits and leaves every other word alone: "bp one forty over ninety pulse
  eighty eight" -> "bp 140/90 pulse 88".
- ``parse_number(text)`` reads text that is meant to be one number ("45 saal",
  "ninety eight point six", "teesra") and returns it, or ``None``.
- ``unfinished_numbers(text)`` finds numbers that were cut short or misheard
  ("ninety eight point", "one hundred and", "140 overnight", "140 over"), so
  that a half-heard value is asked for again instead of being taken as whole.
  ``parse_number`` returns ``None`` for such text.
- ``to_words(value, language, script)`` renders a number the way it is spoken;
  the tests use it for round trips and the voice layer may use it for speech.

How a run of number words is read: words combine the usual way ("one hundred
forty five", "ek sau chalis", "two thousand three hundred"), and groups that
cannot combine are read one after the other, the way people say numbers
aloud: "one forty" is 140, "four five two one" is 4521, "one oh one" is 101.

Speech recognisers mishear some number words as everyday words. Inside a
number read digit by digit, "for", "to", "won", "ate" and "tree" are read as
digits ("for five to one" is 4521), but only in a run of at least four
digit-words of which two are real digits, so "two to three days" stays words.
"by" is also heard as "buy" or "bye" between the two numbers of a blood
pressure. "over ninety" heard as "overnight" cannot be repaired (was it 90,
or 99?): it is an unfinished number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

# ---------------------------------------------------------------------------
# Vocabulary. The first spelling of each entry is the one ``to_words`` uses.

_ENGLISH_SMALL: dict[int, tuple[str, ...]] = {
    0: ("zero", "nought", "nil"),
    1: ("one",),
    2: ("two",),
    3: ("three",),
    4: ("four",),
    5: ("five",),
    6: ("six",),
    7: ("seven",),
    8: ("eight",),
    9: ("nine",),
    10: ("ten",),
    11: ("eleven",),
    12: ("twelve",),
    13: ("thirteen",),
    14: ("fourteen",),
    15: ("fifteen",),
    16: ("sixteen",),
    17: ("seventeen",),
    18: ("eighteen",),
    19: ("nineteen",),
    20: ("twenty",),
    30: ("thirty",),
    40: ("forty", "fourty"),
    50: ("fifty",),
    60: ("sixty",),
    70: ("seventy",),
    80: ("eighty",),
    90: ("ninety", "ninty"),
}

# Hindi has a distinct word for every number from 1 to 99. Common romanised
# spellings are listed; ``fold_romanised`` absorbs doubled letters and long vowels.
_HINDI_LATIN: dict[int, tuple[str, ...]] = {
    0: ("shunya", "sunya", "sifar"),
    1: ("ek",),
    2: ("do",),
    3: ("teen",),
    4: ("char",),
    5: ("paanch", "panch"),
    6: ("chhah", "chhe", "chha", "chah"),
    7: ("saat",),
    8: ("aath",),
    9: ("nau", "nao"),
    10: ("das", "dus"),
    11: ("gyarah", "gyara", "igyarah"),
    12: ("barah", "bara"),
    13: ("terah", "tera"),
    14: ("chaudah", "chauda", "chodah"),
    15: ("pandrah", "pandra", "pundrah"),
    16: ("solah", "sola"),
    17: ("satrah", "satra"),
    18: ("atharah", "athara", "attharah"),
    19: ("unnis", "unees"),
    20: ("bees", "bis"),
    21: ("ikkis", "ikkees"),
    22: ("bais", "baees", "baaees", "bayees"),
    23: ("teis", "teyis", "tais", "teyees"),
    24: ("chaubis", "chaubees", "chobis"),
    25: ("pachis", "pachchis", "pacchis", "pachees"),
    26: ("chhabbis", "chhabbees"),
    27: ("sattais", "sattaees", "sataees"),
    28: ("atthais", "atthaees", "athais", "attais"),
    29: ("untis", "untees", "unatis"),
    30: ("tees", "tis"),
    31: ("ikattis", "iktis", "ikattees", "iktees"),
    32: ("battis", "battees"),
    33: ("taintis", "tentis", "taintees", "tetis"),
    34: ("chauntis", "chautis", "chontis", "chauntees"),
    35: ("paintis", "paintees", "pentis"),
    36: ("chhattis", "chhattees"),
    37: ("saintis", "saintees", "sentis"),
    38: ("adtis", "artis", "arthis", "adtees"),
    39: ("untalis", "untalees", "unchalis"),
    40: ("chalis", "chaalis", "chalees"),
    41: ("iktalis", "iktalees", "ikchalis"),
    42: ("bayalis", "byalis", "bayalees", "beyalis"),
    43: ("taintalis", "tentalis", "tetalis"),
    44: ("chavalis", "chauvalis", "chawalis", "chavalees"),
    45: ("paintalis", "pentalis", "paintalees"),
    46: ("chhiyalis", "chhiyalees", "chiyalis"),
    47: ("saintalis", "sentalis", "saintalees"),
    48: ("adtalis", "artalis", "adtalees"),
    49: ("unchas", "unanchas"),
    50: ("pachas", "pachaas"),
    51: ("ikyavan", "ikyawan", "ekyavan"),
    52: ("bavan", "bawan"),
    53: ("tirepan", "trepan", "tirpan"),
    54: ("chauvan", "chauwan", "chowan"),
    55: ("pachpan", "pachapan"),
    56: ("chhappan", "chappan"),
    57: ("sattavan", "sattawan", "satavan"),
    58: ("atthavan", "atthawan", "athavan"),
    59: ("unsath", "unsaath", "unsadh"),
    60: ("saath", "sath"),
    61: ("iksath", "iksaath", "ikasath"),
    62: ("basath", "baasath", "basadh"),
    63: ("tirsath", "tresath"),
    64: ("chaunsath", "chausath", "chonsath"),
    65: ("painsath", "pensath"),
    66: ("chhiyasath", "chiyasath"),
    67: ("sadsath", "sarsath"),
    68: ("adsath", "arsath"),
    69: ("unhattar", "unahattar"),
    70: ("sattar", "satar"),
    71: ("ikhattar", "ikahattar"),
    72: ("bahattar", "bahtar"),
    73: ("tihattar", "tehattar"),
    74: ("chauhattar", "chohattar"),
    75: ("pachhattar", "pachattar", "pachahattar"),
    76: ("chhihattar", "chhiyattar", "chihattar"),
    77: ("sathattar", "satattar", "satahattar"),
    78: ("athhattar", "athattar", "athahattar"),
    79: ("unasi", "unnasi", "unyasi"),
    80: ("assi", "assee"),
    81: ("ikyasi", "ikkyasi"),
    82: ("bayasi", "biyasi"),
    83: ("tirasi", "tiraasi"),
    84: ("chaurasi", "chauraasi"),
    85: ("pachasi", "pachchasi"),
    86: ("chhiyasi", "chiyasi"),
    87: ("sattasi", "sattaasi"),
    88: ("athasi", "atthasi"),
    89: ("navasi", "nawasi"),
    90: ("nabbe", "nabbey", "nabbay"),
    91: ("ikyanve", "ikyanbe"),
    92: ("banve", "baanve", "banbe"),
    93: ("tiranve", "tiranbe"),
    94: ("chauranve", "chauranbe"),
    95: ("pachanve", "pachanbe"),
    96: ("chhiyanve", "chhiyanbe"),
    97: ("sattanve", "sattanbe"),
    98: ("atthanve", "athanve", "atthanbe"),
    99: ("ninyanve", "ninyanbe", "nirannave"),
}

_HINDI_DEVANAGARI: dict[int, tuple[str, ...]] = {
    0: ("शून्य",),
    1: ("एक",),
    2: ("दो",),
    3: ("तीन",),
    4: ("चार",),
    5: ("पाँच", "पांच"),
    6: ("छह", "छः", "छे", "छै"),
    7: ("सात",),
    8: ("आठ",),
    9: ("नौ",),
    10: ("दस",),
    11: ("ग्यारह",),
    12: ("बारह",),
    13: ("तेरह",),
    14: ("चौदह",),
    15: ("पंद्रह", "पन्द्रह"),
    16: ("सोलह",),
    17: ("सत्रह",),
    18: ("अठारह",),
    19: ("उन्नीस",),
    20: ("बीस",),
    21: ("इक्कीस",),
    22: ("बाईस",),
    23: ("तेईस",),
    24: ("चौबीस",),
    25: ("पच्चीस",),
    26: ("छब्बीस",),
    27: ("सत्ताईस",),
    28: ("अट्ठाईस",),
    29: ("उनतीस",),
    30: ("तीस",),
    31: ("इकतीस",),
    32: ("बत्तीस",),
    33: ("तैंतीस",),
    34: ("चौंतीस",),
    35: ("पैंतीस",),
    36: ("छत्तीस",),
    37: ("सैंतीस",),
    38: ("अड़तीस",),
    39: ("उनतालीस",),
    40: ("चालीस",),
    41: ("इकतालीस",),
    42: ("बयालीस",),
    43: ("तैंतालीस",),
    44: ("चवालीस", "चौवालीस"),
    45: ("पैंतालीस",),
    46: ("छियालीस",),
    47: ("सैंतालीस",),
    48: ("अड़तालीस",),
    49: ("उनचास",),
    50: ("पचास",),
    51: ("इक्यावन",),
    52: ("बावन",),
    53: ("तिरेपन", "तिरपन"),
    54: ("चौवन",),
    55: ("पचपन",),
    56: ("छप्पन",),
    57: ("सत्तावन",),
    58: ("अट्ठावन",),
    59: ("उनसठ",),
    60: ("साठ",),
    61: ("इकसठ",),
    62: ("बासठ",),
    63: ("तिरसठ",),
    64: ("चौंसठ",),
    65: ("पैंसठ",),
    66: ("छियासठ",),
    67: ("सड़सठ",),
    68: ("अड़सठ",),
    69: ("उनहत्तर",),
    70: ("सत्तर",),
    71: ("इकहत्तर",),
    72: ("बहत्तर",),
    73: ("तिहत्तर",),
    74: ("चौहत्तर",),
    75: ("पचहत्तर",),
    76: ("छिहत्तर",),
    77: ("सतहत्तर",),
    78: ("अठहत्तर",),
    79: ("उन्यासी", "उनासी"),
    80: ("अस्सी",),
    81: ("इक्यासी",),
    82: ("बयासी",),
    83: ("तिरासी",),
    84: ("चौरासी",),
    85: ("पचासी",),
    86: ("छियासी",),
    87: ("सत्तासी",),
    88: ("अट्ठासी",),
    89: ("नवासी",),
    90: ("नब्बे",),
    91: ("इक्यानबे", "इक्यानवे"),
    92: ("बानबे", "बानवे"),
    93: ("तिरानबे", "तिरानवे"),
    94: ("चौरानबे", "चौरानवे"),
    95: ("पचानबे", "पचानवे"),
    96: ("छियानबे", "छियानवे"),
    97: ("सत्तानबे", "सत्तानवे"),
    98: ("अट्ठानबे", "अट्ठानवे"),
    99: ("निन्यानबे", "निन्यानवे"),
}

_MULTIPLIERS: dict[int, dict[str, tuple[str, ...]]] = {
    100: {"en": ("hundred", "hundered"), "latin": ("sau",), "devanagari": ("सौ",)},
    1000: {"en": ("thousand",), "latin": ("hazaar", "hazar", "hajar"), "devanagari": ("हज़ार", "हजार")},
    100_000: {"en": ("lakh", "lac"), "latin": ("lakh", "laakh"), "devanagari": ("लाख",)},
}

_POINT_WORDS = {"en": ("point", "decimal"), "latin": ("point", "dashamlav"), "devanagari": ("दशमलव", "पॉइंट", "प्वाइंट")}

# Halves, as Hindi speakers say weights: "dhai kilo" is 2.5 kg, "saadhe teen" 3.5.
_FRACTION_ATOMS = {"dedh": "1.5", "dhai": "2.5", "adhai": "2.5", "डेढ़": "1.5", "ढाई": "2.5"}
_PLUS_HALF = {"sadhe", "saade", "saadhe", "sade", "साढ़े", "साढे"}

_ORDINALS: dict[int, tuple[str, ...]] = {
    1: ("first", "1st", "pehla", "pahla", "pehli", "pehle", "पहला", "पहली", "पहले"),
    2: ("second", "2nd", "doosra", "dusra", "doosri", "dusri", "doosre", "दूसरा", "दूसरी", "दूसरे"),
    3: ("third", "3rd", "teesra", "tisra", "teesri", "tisri", "teesre", "तीसरा", "तीसरी", "तीसरे"),
    4: ("fourth", "4th", "chautha", "chauthi", "chauthe", "चौथा", "चौथी", "चौथे"),
    5: ("fifth", "5th", "paanchva", "panchva", "paanchvan", "पाँचवाँ", "पांचवां", "पांचवा", "पाँचवीं"),
    6: ("sixth", "6th", "chhatha", "chhathi", "chhathe", "chhatva", "chhatve", "छठा", "छठी", "छठे"),
    7: ("seventh", "7th", "saatva", "satvan", "saatvan", "सातवाँ", "सातवां", "सातवीं"),
    8: ("eighth", "8th", "aathva", "aathvan", "आठवाँ", "आठवां", "आठवीं"),
    9: ("ninth", "9th", "nauva", "nauvan", "नौवाँ", "नौवां", "नौवीं"),
    10: ("tenth", "10th", "dasva", "dasvan", "दसवाँ", "दसवां", "दसवीं"),
}

# Words that are also ordinary words ("which one", "kar do", "mere saath").
# Alone they stay words unless a cue around them says a number is meant.
_AMBIGUOUS_WORDS = ("one", "एक", "दो")
_AMBIGUOUS_HINDI = ("ek", "do", "teen", "char", "saat", "saath", "bara", "tera", "bees", "tees")
_CUES_BEFORE = {
    "step",
    "steps",
    "number",
    "no",
    "num",
    "patient",
    "id",
    "age",
    "umar",
    "umr",
    "aayu",
    "bp",
    "pulse",
    "temp",
    "temperature",
    "spo2",
    "oxygen",
    "weight",
    "wajan",
    "vajan",
    "over",
    "bata",
    "batta",
    "upon",
    "slash",
    "बटा",  # the second number of a blood pressure
    "स्टेप",
    "चरण",
    "नंबर",
    "उम्र",
    "आयु",
    "मरीज़",
    "मरीज",
    "बीपी",
    "पल्स",
    "तापमान",
    "वजन",
    "वज़न",
}
_UNITS_AFTER = {
    "saal",
    "sal",
    "year",
    "years",
    "yr",
    "yrs",
    "kg",
    "kilo",
    "kilos",
    "degree",
    "degrees",
    "din",
    "day",
    "days",
    "mahina",
    "mahine",
    "month",
    "months",
    "hafte",
    "week",
    "weeks",
    "baje",
    "percent",
    "ghante",
    "hours",
    "minute",
    "minutes",
    "number",
    "साल",
    "वर्ष",
    "किलो",
    "डिग्री",
    "दिन",
    "महीने",
    "महीना",
    "हफ्ते",
    "बजे",
    "नंबर",
}
_BP_SEPARATORS = {"/", "over", "by", "buy", "bye", "upon", "slash", "bata", "batta", "बटा", "ओवर", "बाई"}
_AND_WORDS = {"and"}
# Digits a recogniser writes as everyday words (see the module docstring).
_HOMOPHONES = {"for": 4, "fore": 4, "to": 2, "too": 2, "won": 1, "ate": 8, "tree": 3}
_HOMOPHONE_RUN = 4  # digit-words in a row, at least
_REAL_DIGITS_IN_RUN = 2
# What comes after the first number of a pair that needs a second one; "by" is
# left out ("6 by 8 cm" is a size, and "3 days by evening" is no pair at all).
_PAIR_SEPARATORS = {"/", "over", "upon", "slash", "bata", "batta", "बटा", "ओवर"}
# "over ninety" as a recogniser may write it: the second number is lost.
_MISHEARD_PAIR = {"overnight", "overnite", "over-night", "ovanight"}
_NIGHT_WORDS = {"night", "nite"}

_DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")
_DIGITS_RE = re.compile(r"^\d+(?:\.\d+)?$")
_PIECE_RE = re.compile(r"\S+")
# Punctuation around a word ("ninety," "(one"); Devanagari signs are part of words.
_EDGE_PUNCT = "\"'()[]{}<>,;:!?।॥.…“”‘’%"


def fold_romanised(word: str) -> str:
    """A spelling-tolerant key for romanised Hindi: long vowels and doubled letters collapse.

    "bachche", "bacche" and "bache" are one word, as are "aankh" and "ankh".
    """
    word = word.lower().replace("w", "v").replace("chch", "ch")
    for long, short in (("ee", "i"), ("oo", "u"), ("aa", "a")):
        word = word.replace(long, short)
    word = re.sub(r"([bcdfgjklmnpqrstvz])\1", r"\1", word)
    return word.replace("chh", "ch")


def _devanagari_key(word: str) -> str:
    """Spelling-tolerant Devanagari: nukta and chandrabindu variants compare equal."""
    word = unicodedata.normalize("NFC", word)
    return unicodedata.normalize("NFD", word).replace("\u093c", "").replace("\u0901", "\u0902")


def _is_devanagari(word: str) -> bool:
    return any("\u0900" <= ch <= "\u097f" for ch in word)


@dataclass(frozen=True)
class _Word:
    value: int
    kind: str  # "small", "multiplier", "point", "fraction", "plus_half"
    english_tens: bool = False


def _build_lexicon() -> tuple[dict[str, _Word], dict[str, _Word], dict[str, _Word]]:
    english: dict[str, _Word] = {}
    latin: dict[str, _Word] = {}
    devanagari: dict[str, _Word] = {}

    def add(table: dict[str, _Word], key: str, word: _Word) -> None:
        existing = table.get(key)
        if existing is not None and existing != word:
            raise ValueError(f"spoken number {key!r} would mean both {existing.value} and {word.value}")
        table[key] = word

    for value, spellings in _ENGLISH_SMALL.items():
        for spelling in spellings:
            add(english, spelling, _Word(value, "small", english_tens=value >= 20))
    for value, spellings in _HINDI_LATIN.items():
        for spelling in spellings:
            add(latin, fold_romanised(spelling), _Word(value, "small"))
    for value, spellings in _HINDI_DEVANAGARI.items():
        for spelling in spellings:
            add(devanagari, _devanagari_key(spelling), _Word(value, "small"))
    for value, names in _MULTIPLIERS.items():
        for spelling in names["en"]:
            add(english, spelling, _Word(value, "multiplier"))
        for spelling in names["latin"]:
            add(latin, fold_romanised(spelling), _Word(value, "multiplier"))
        for spelling in names["devanagari"]:
            add(devanagari, _devanagari_key(spelling), _Word(value, "multiplier"))
    for spelling in _POINT_WORDS["en"]:
        add(english, spelling, _Word(0, "point"))
    for spelling in _POINT_WORDS["latin"]:
        add(latin, fold_romanised(spelling), _Word(0, "point"))
    for spelling in _POINT_WORDS["devanagari"]:
        add(devanagari, _devanagari_key(spelling), _Word(0, "point"))
    return english, latin, devanagari


_ENGLISH, _LATIN, _DEVANAGARI = _build_lexicon()
# Hindi ordinals from five on are the number with "-vaan" ("paanchvaan", "सातवें", "gyarahvi"), and English
# ones past ten the number with "-th": both are made from the number words rather than listed.
_HINDI_ORDINAL_ENDINGS = {
    "latin": ("va", "vaan", "van", "vi", "vin", "vein", "ve", "ven", "vaa"),
    "devanagari": ("वाँ", "वां", "वा", "वीं", "वी", "वें", "वे"),
}
_ENGLISH_ORDINAL_STEMS = {12: "twelf", 20: "twentie"}
_ORDINAL_RE = re.compile(r"^(\d{1,3})(?:st|nd|rd|th)$", re.IGNORECASE)


def _ordinal_spellings() -> dict[int, tuple[str, ...]]:
    spellings = {value: list(words) for value, words in _ORDINALS.items()}
    for value in range(5, 21):
        spellings.setdefault(value, [])
        for number in _HINDI_LATIN.get(value, ()):
            spellings[value] += [number + ending for ending in _HINDI_ORDINAL_ENDINGS["latin"]]
        for number in _HINDI_DEVANAGARI.get(value, ()):
            spellings[value] += [number + ending for ending in _HINDI_ORDINAL_ENDINGS["devanagari"]]
        if value > 10:
            spellings[value].append(_ENGLISH_ORDINAL_STEMS.get(value, _ENGLISH_SMALL[value][0]) + "th")
    return {value: tuple(words) for value, words in spellings.items()}


def _ordinal_key(word: str) -> str:
    return _devanagari_key(word) if _is_devanagari(word) else fold_romanised(word)


_ORDINAL_LOOKUP = {
    _ordinal_key(spelling): value for value, spellings in _ordinal_spellings().items() for spelling in spellings
}


def ordinal(word: str) -> int | None:
    """The number an ordinal word stands for ("teesre" 3, "सातवें" 7, "eleventh" 11, "4th" 4), else ``None``."""
    digits = _ORDINAL_RE.match(word)
    return int(digits.group(1)) if digits else _ORDINAL_LOOKUP.get(_ordinal_key(word))


def _lookup(word: str) -> _Word | None:
    lowered = word.lower()
    if lowered in _ENGLISH:
        return _ENGLISH[lowered]
    if _is_devanagari(word):
        return _DEVANAGARI.get(_devanagari_key(word))
    return _LATIN.get(fold_romanised(lowered))


# ---------------------------------------------------------------------------
# Tokens: a sentence is split on whitespace into pieces; a piece is a number
# token only if all of it is one (so "spo2" or "4521a" stay untouched).


@dataclass
class _Token:
    start: int  # span in the text of the word itself, without edge punctuation
    end: int
    text: str
    word: _Word | None  # a number word, or None
    literal: str | None  # digits already written as digits
    fraction: str | None = None  # "1.5" for "dedh"
    plus_half: bool = False
    breaks_after: bool = False  # punctuation after it ends a number

    @property
    def numeric(self) -> bool:
        return self.word is not None or self.literal is not None or self.fraction is not None or self.plus_half


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    for match in _PIECE_RE.finditer(text):
        piece, offset = match.group(), match.start()
        core = piece.strip(_EDGE_PUNCT)
        if not core:
            continue
        lead = piece.index(core)
        trailing = piece[lead + len(core) :]
        # "98.6." keeps its decimal: strip only a final sentence period.
        breaks = bool(trailing.strip("%"))
        parts = core.split("-") if not _DIGITS_RE.match(core) else [core]
        position = offset + lead
        for index, part in enumerate(parts):
            token = _classify(part, position)
            token.breaks_after = breaks if index == len(parts) - 1 else False
            tokens.append(token)
            position += len(part) + 1
    return tokens


def _classify(part: str, start: int) -> _Token:
    end = start + len(part)
    if _DIGITS_RE.match(part):
        return _Token(start, end, part, None, part)
    lowered = part.lower()
    if lowered in _FRACTION_ATOMS or part in _FRACTION_ATOMS:
        return _Token(start, end, part, None, None, fraction=_FRACTION_ATOMS.get(lowered) or _FRACTION_ATOMS[part])
    if lowered in _PLUS_HALF or part in _PLUS_HALF:
        return _Token(start, end, part, None, None, plus_half=True)
    return _Token(start, end, part, _lookup(part), None)


# ---------------------------------------------------------------------------
# Reading a run of number tokens.


class _Reader:
    """Reads one run of number tokens into digits (see the module docstring)."""

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.high = 0  # thousands and lakhs of the chunk being read
        self.low = 0  # the part below a thousand
        self.last: str | None = None  # kind of the last word in the open chunk
        self.last_big = 0

    @property
    def open(self) -> bool:
        return self.last is not None

    def close(self, decimals: str = "") -> None:
        if self.open:
            value = str(self.high + self.low)
            self.chunks.append(f"{value}.{decimals}" if decimals else value)
        self.high = self.low = self.last_big = 0
        self.last = None

    def small(self, word: _Word) -> None:
        value = word.value
        if self.open and (
            (self.last == "tens" and 1 <= value <= 9)
            or (self.last == "multiplier" and value < 100 and (self.low == 0 or self.low % 100 == 0))
        ):
            self.low += value
        else:
            self.close()
            self.low = value
        self.last = "tens" if word.english_tens and value % 10 == 0 else "small"

    def multiplier(self, value: int) -> None:
        if value == 100:
            if self.open and 1 <= self.low <= 99:
                self.low *= 100
            else:
                self.close()
                self.low = 100
        else:
            if self.open and self.low > 0 and (self.last_big == 0 or value < self.last_big):
                self.high += self.low * value
            else:
                self.close()
                self.high = value
            self.low = 0
            self.last_big = value
        self.last = "multiplier"

    def literal(self, digits: str) -> None:
        self.close()
        self.chunks.append(digits)

    def result(self) -> str:
        self.close()
        if len(self.chunks) == 1:
            return self.chunks[0]
        # Groups said one after another are digits in a row ("one forty" = 140).
        # A decimal can only be the last group.
        if any("." in chunk for chunk in self.chunks[:-1]):
            return " ".join(self.chunks)
        return "".join(self.chunks)


def _decimal_digits(tokens: list[_Token]) -> tuple[str, int]:
    """Digits after "point": each word is read as its own digits ("point six two")."""
    digits = ""
    used = 0
    for token in tokens:
        if token.literal is not None and "." not in token.literal:
            digits += token.literal
        elif token.word is not None and token.word.kind == "small":
            digits += str(token.word.value)
        else:
            break
        used += 1
        if token.breaks_after:
            break
    return digits, used


def _read_run(tokens: list[_Token]) -> str:
    reader = _Reader()
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.literal is not None:
            reader.literal(token.literal)
        elif token.fraction is not None:
            reader.literal(token.fraction)
        elif token.plus_half:
            nxt = tokens[index + 1]
            assert nxt.word is not None  # guaranteed by _runs
            reader.literal(f"{nxt.word.value}.5")
            index += 1
        elif token.word is not None and token.word.kind == "small":
            reader.small(token.word)
        elif token.word is not None and token.word.kind == "multiplier":
            reader.multiplier(token.word.value)
        elif token.word is not None and token.word.kind == "point":
            digits, used = _decimal_digits(tokens[index + 1 :])
            if reader.open:
                reader.close(digits)
            else:  # "98 point 6": the literal is already a chunk
                reader.chunks[-1] = f"{reader.chunks[-1]}.{digits}"
            index += used
        index += 1
    return reader.result()


def _is_zero_word(token: _Token) -> bool:
    return token.text.lower() in {"oh", "o"}


def _starts_number(tokens: list[_Token], index: int) -> bool:
    token = tokens[index]
    if token.plus_half:
        nxt = tokens[index + 1] if index + 1 < len(tokens) else None
        return nxt is not None and nxt.word is not None and nxt.word.kind == "small" and nxt.word.value < 100
    return token.numeric and not (token.word is not None and token.word.kind == "point")


def _continues_number(tokens: list[_Token], index: int, run: list[_Token]) -> bool:
    token = tokens[index]
    prev = run[-1]
    if prev.breaks_after:
        return False
    if token.word is not None and token.word.kind == "point":
        nxt = tokens[index + 1] if index + 1 < len(tokens) else None
        return nxt is not None and (
            (nxt.literal is not None and "." not in nxt.literal) or (nxt.word is not None and nxt.word.kind == "small")
        )
    if prev.literal is not None and token.literal is not None:
        return False  # "88 92" are two numbers already written as digits
    return _starts_number(tokens, index)


def _digit_like(token: _Token) -> bool:
    if token.literal is not None:
        return len(token.literal) == 1
    if token.word is not None:
        return token.word.kind == "small" and token.word.value < 10
    return token.text.lower() in _HOMOPHONES or _is_zero_word(token)


def _read_homophones(tokens: list[_Token]) -> None:
    """ "for five to one" -> four five two one: homophones inside a long run of digit-words.

    A homophone at the edge of the run counts only where nothing else can
    claim it: at the start of the text or after a cue ("patient id for five
    ..."), or at its end. "fever for two to three days" keeps every word.
    """
    index = 0
    while index < len(tokens):
        end = index
        while end < len(tokens) and _digit_like(tokens[end]):
            end += 1
            if tokens[end - 1].breaks_after:
                break
        first, last = index, end
        if (
            first < last
            and not tokens[first].numeric
            and not (first == 0 or _word_at(tokens, first - 1) in _CUES_BEFORE)
        ):
            first += 1
        if first < last and not tokens[last - 1].numeric and last < len(tokens) and not tokens[last - 1].breaks_after:
            last -= 1
        group = tokens[first:last]
        if len(group) >= _HOMOPHONE_RUN and sum(1 for token in group if token.numeric) >= _REAL_DIGITS_IN_RUN:
            for token in group:
                if not token.numeric and token.text.lower() in _HOMOPHONES:
                    token.word = _Word(_HOMOPHONES[token.text.lower()], "small")
        index = max(end, index + 1)


def _runs(tokens: list[_Token]) -> Iterable[list[_Token]]:
    """Maximal runs of number tokens, with "oh" for zero and "a hundred" / "hundred and".

    Adjusts the tokens in place: "oh" between numbers and "a" before a
    multiplier become number words, and so do homophones in a run of digits.
    """
    _read_homophones(tokens)
    index = 0
    while index < len(tokens):
        token = tokens[index]
        nxt = tokens[index + 1] if index + 1 < len(tokens) else None
        if token.text.lower() in {"a", "an"} and nxt is not None and nxt.word and nxt.word.kind == "multiplier":
            token.word = _Word(1, "small")
        if not _starts_number(tokens, index):
            index += 1
            continue
        run = [token]
        index += 1 + (1 if token.plus_half else 0)
        if token.plus_half:
            run.append(tokens[index - 1])
        while index < len(tokens):
            candidate = tokens[index]
            if _is_zero_word(candidate) and not run[-1].breaks_after and candidate.word is None:
                candidate.word = _Word(0, "small")
            after = tokens[index + 1].word if index + 1 < len(tokens) else None
            if (
                candidate.text.lower() in _AND_WORDS
                and run[-1].word is not None
                and run[-1].word.kind == "multiplier"
                and after is not None
                and after.kind == "small"
                and not run[-1].breaks_after
            ):
                index += 1  # "one hundred and forty": the "and" is dropped
                continue
            if not _continues_number(tokens, index, run):
                break
            run.append(candidate)
            if candidate.plus_half:
                index += 1
                run.append(tokens[index])
            if candidate.word is not None and candidate.word.kind == "point":
                digits, used = _decimal_digits(tokens[index + 1 :])
                run.extend(tokens[index + 1 : index + 1 + used])
                index += used
            index += 1
        # A trailing "oh" that started nothing stays a word.
        yield run


def _has_cue(tokens: list[_Token], run: list[_Token]) -> bool:
    first, last = tokens.index(run[0]), tokens.index(run[-1])
    before = tokens[first - 1].text.lower() if first > 0 else ""
    after = tokens[last + 1].text.lower() if last + 1 < len(tokens) else ""
    return before in _CUES_BEFORE or after in _UNITS_AFTER


_AMBIGUOUS = {*_AMBIGUOUS_WORDS, *(fold_romanised(word) for word in _AMBIGUOUS_HINDI)}


def _is_ambiguous(run: list[_Token]) -> bool:
    """True when every word of the run is also an everyday word ("which one", "kar do")."""
    return all(
        token.word is not None
        and (
            token.text.lower() in _AMBIGUOUS
            or (not _is_devanagari(token.text) and fold_romanised(token.text) in _AMBIGUOUS)
        )
        for token in run
    )


def _replace_numbers(text: str, *, assume_number: bool) -> str:
    text = text.translate(_DEVANAGARI_DIGITS)
    tokens = _tokens(text)
    pieces: list[str] = []
    cursor = 0
    for run in _runs(tokens):
        if all(token.literal is not None for token in run):
            continue  # already digits
        if not assume_number and _is_ambiguous(run) and not _has_cue(tokens, run):
            continue
        pieces.append(text[cursor : run[0].start])
        pieces.append(_read_run(run))
        cursor = run[-1].end
    pieces.append(text[cursor:])
    return _join_blood_pressure("".join(pieces))


_BP_RE = re.compile(
    r"(?<![\d.])(\d{2,3})\s*("
    + "|".join(re.escape(s) for s in sorted(_BP_SEPARATORS, key=len, reverse=True))
    + r")\s*(\d{2,3})(?![\d.])",
    re.IGNORECASE,
)


def _join_blood_pressure(text: str) -> str:
    """ "140 over 90" -> "140/90", only where both numbers can be a blood pressure."""

    def join(match: re.Match[str]) -> str:
        systolic, diastolic = int(match.group(1)), int(match.group(3))
        if 40 <= systolic <= 300 and 20 <= diastolic <= 200:
            return f"{systolic}/{diastolic}"
        return match.group(0)

    return _BP_RE.sub(join, text)


# ---------------------------------------------------------------------------
# Numbers cut short


@dataclass(frozen=True)
class Unfinished:
    """A number that was not heard whole, with its span in the text.

    ``kind``: "decimal" ("ninety eight point"), "and" ("one hundred and"),
    "pair" (the second number of "140 over" or "140 overnight" is missing),
    "half" ("saadhe" with nothing after it).
    """

    start: int
    end: int
    text: str
    kind: str


def _word_at(tokens: list[_Token], index: int) -> str:
    return tokens[index].text.lower() if 0 <= index < len(tokens) else ""


def _number_follows(tokens: list[_Token], index: int) -> bool:
    return 0 <= index < len(tokens) and _starts_number(tokens, index)


def _after_run(tokens: list[_Token], last: int) -> tuple[str, int] | None:
    """What cuts the number ending at ``tokens[last]`` short, and the index it ends at."""
    if tokens[last].breaks_after and tokens[last].text.endswith("/"):
        return None
    nxt, index = _word_at(tokens, last + 1), last + 1
    if nxt in _POINT_WORDS["en"] + _POINT_WORDS["latin"] or _lookup_point(tokens, index):
        return None if _number_follows(tokens, index + 1) else ("decimal", index)
    word = tokens[last].word
    if nxt in _AND_WORDS and word is not None and word.kind == "multiplier":
        return None if _number_follows(tokens, index + 1) else ("and", index)
    if nxt in _MISHEARD_PAIR:
        return ("pair", index)
    if nxt in ("over", "ओवर") and _word_at(tokens, index + 1) in _NIGHT_WORDS:
        return ("pair", index + 1)
    if nxt in _PAIR_SEPARATORS and not tokens[last].breaks_after:
        return None if _number_follows(tokens, index + 1) else ("pair", index)
    return None


def _lookup_point(tokens: list[_Token], index: int) -> bool:
    token = tokens[index] if 0 <= index < len(tokens) else None
    return token is not None and token.word is not None and token.word.kind == "point"


def unfinished_numbers(text: str) -> list[Unfinished]:
    """Numbers in ``text`` that were cut short or misheard, in order.

    >>> [u.text for u in unfinished_numbers("temperature ninety eight point")]
    ['ninety eight point']
    >>> unfinished_numbers("bp 140/90 temperature 98.6")
    []
    """
    text = text.translate(_DEVANAGARI_DIGITS)
    tokens = _tokens(text)
    found: list[Unfinished] = []
    for piece in _PIECE_RE.finditer(text):
        if re.fullmatch(r"\d{2,3}/", piece.group()):  # "140/" and nothing after it
            found.append(Unfinished(piece.start(), piece.end(), piece.group(), "pair"))
    for run in _runs(tokens):
        first, last = tokens.index(run[0]), tokens.index(run[-1])
        if run[-1].plus_half and len(run) == 1:
            found.append(Unfinished(run[0].start, run[0].end, run[0].text, "half"))
            continue
        cut = _after_run(tokens, last)
        if cut is not None:
            kind, end = cut
            found.append(
                Unfinished(tokens[first].start, tokens[end].end, text[tokens[first].start : tokens[end].end], kind)
            )
    for index, token in enumerate(tokens):  # "saadhe" that starts nothing
        if token.plus_half and not _starts_number(tokens, index):
            found.append(Unfinished(token.start, token.end, token.text, "half"))
    return sorted(set(found), key=lambda item: item.start)


# ---------------------------------------------------------------------------
# Public API


def normalise_numbers(text: str) -> str:
    """Rewrite spoken number phrases in ``text`` as digits; leave other words alone.

    >>> normalise_numbers("bp one forty over ninety, temperature ninety eight point six")
    'bp 140/90, temperature 98.6'
    >>> normalise_numbers("ek sau chalis")
    '140'
    """
    return _replace_numbers(text, assume_number=False)


def parse_number(text: str) -> float | None:
    """The single number ``text`` stands for ("45 saal", "teesra", "ninety eight point six").

    Returns ``None`` when the text holds no number, more than one (a blood
    pressure "140/90" is two numbers), or one that was cut short ("ninety
    eight point": see ``unfinished_numbers``).
    """
    if not text or not text.strip() or unfinished_numbers(text):
        return None
    # "teesra", "the second one": an ordinal wins over the "one" after it.
    ordinals = [ordinal(token.text) for token in _tokens(text)]
    numbers = [str(value) for value in ordinals if value is not None]
    if not numbers:
        numbers = re.findall(r"\d+(?:\.\d+)?", _replace_numbers(text, assume_number=True))
    if len(numbers) != 1:
        return None
    return float(numbers[0])


def to_words(value: float | int | str, language: str = "en", script: str = "latin") -> str:
    """Say a non-negative number in words: English, or Hindi in Latin or Devanagari script.

    Decimals are read digit by digit after "point": 98.6 -> "ninety eight point six".
    """
    number = Decimal(str(value))
    if number < 0:
        raise ValueError("only non-negative numbers can be spoken")
    whole, _, decimals = format(number, "f").partition(".")
    if language == "en":
        words = _english_words(int(whole))
        point, digit = _POINT_WORDS["en"][0], lambda d: _ENGLISH_SMALL[d][0]
    elif language == "hi":
        table = _HINDI_DEVANAGARI if script == "devanagari" else _HINDI_LATIN
        multipliers = {value: names[script][0] for value, names in _MULTIPLIERS.items()}
        words = _hindi_words(int(whole), table, multipliers)
        point, digit = _POINT_WORDS[script][0], lambda d: table[d][0]
    else:
        raise ValueError(f"unknown language {language!r}; use 'en' or 'hi'")
    if decimals:
        words += " " + point + " " + " ".join(digit(int(d)) for d in decimals)
    return words


def _english_words(n: int) -> str:
    if n < 20:
        return _ENGLISH_SMALL[n][0]
    if n < 100:
        tens, units = divmod(n, 10)
        return _ENGLISH_SMALL[tens * 10][0] + (" " + _ENGLISH_SMALL[units][0] if units else "")
    for size, name in ((1000, "thousand"), (100, "hundred")):
        if n >= size:
            head, rest = divmod(n, size)
            return _english_words(head) + " " + name + (" " + _english_words(rest) if rest else "")
    raise AssertionError("unreachable")


def _hindi_words(n: int, table: dict[int, tuple[str, ...]], multipliers: dict[int, str]) -> str:
    if n < 100:
        return table[n][0]
    for size in (100_000, 1000, 100):
        if n >= size:
            head, rest = divmod(n, size)
            return (
                _hindi_words(head, table, multipliers)
                + " "
                + multipliers[size]
                + (" " + _hindi_words(rest, table, multipliers) if rest else "")
            )
    raise AssertionError("unreachable")
