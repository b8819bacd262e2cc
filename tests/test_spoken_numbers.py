"""The spoken-number normaliser: examples from the field, and property-based round trips."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.core import spoken_numbers
from assistant.core.spoken_numbers import normalise_numbers, parse_number, to_words

SCRIPTS = [("en", "latin"), ("hi", "latin"), ("hi", "devanagari")]
DEVANAGARI_DIGITS = str.maketrans("0123456789", "०१२३४५६७८९")


@pytest.mark.parametrize(
    "spoken, expected",
    [
        ("one forty over ninety", "140/90"),
        ("ninety eight point six", "98.6"),
        ("one hundred forty over ninety", "140/90"),
        ("one hundred and forty over ninety", "140/90"),
        ("ek sau chalis", "140"),
        ("एक सौ चालीस", "140"),
        ("१४०", "140"),
        ("१४०/९०", "140/90"),
        ("बीपी एक सौ चालीस बटा नब्बे", "बीपी 140/90"),
        ("bp one forty over ninety temperature one oh one pulse eighty eight", "bp 140/90 temperature 101 pulse 88"),
        ("bp 140 over 90 temperature 101 pulse 88", "bp 140/90 temperature 101 pulse 88"),
        ("temperature ninety eight point six, pulse seventy two.", "temperature 98.6, pulse 72."),
        ("patient four five two one", "patient 4521"),
        ("patient forty five twenty one", "patient 4521"),
        ("age forty-five years", "age 45 years"),
        ("umar chalis saal", "umar 40 saal"),
        ("bachche ka wajan dhai kilo", "bachche ka wajan 2.5 kilo"),
        ("saadhe teen kilo", "3.5 kilo"),
        ("sau do", "102"),
        ("two thousand three hundred five", "2305"),
        ("ek lakh bees hazaar", "120000"),
        ("go to step one", "go to step 1"),
        ("step do pe jao", "step 2 pe jao"),
        ("teen saal ka bachcha", "3 saal ka bachcha"),
        ("paintalis saal ki aurat", "45 saal ki aurat"),
    ],
)
def test_field_examples(spoken: str, expected: str) -> None:
    assert normalise_numbers(spoken) == expected


@pytest.mark.parametrize(
    "sentence",
    [
        "ek consult chahiye",  # "a consult", not "1 consult"
        "consult book kar do",  # "do" is "please do it"
        "which one is it",
        "mere saath chalo",
        "do one thing first",
        "spo2 97%",  # a label with a digit stays whole
        "patient P-4521 needs a review",
        "6 by 8 cm wound",  # not a blood pressure
        "so what do I do now",
        "at this point the baby is crying",
    ],
)
def test_ordinary_words_are_left_alone(sentence: str) -> None:
    assert normalise_numbers(sentence) == sentence


@pytest.mark.parametrize(
    "text, expected",
    [
        ("45 saal", 45.0),
        ("forty five", 45.0),
        ("do", 2.0),  # alone, the text is meant as a number
        ("ninety eight point six", 98.6),
        ("teesra", 3.0),
        ("the third one", 3.0),
        ("पहला", 1.0),
        ("2nd", 2.0),
        ("140/90", None),
        ("hello", None),
        ("", None),
        ("   ", None),
    ],
)
def test_parse_number(text: str, expected: float | None) -> None:
    assert parse_number(text) == expected


@settings(max_examples=300, deadline=None)
@given(n=st.integers(min_value=0, max_value=999_999), form=st.sampled_from(SCRIPTS))
def test_integers_round_trip(n: int, form: tuple[str, str]) -> None:
    spoken = to_words(n, *form)
    # Inside a sentence a lone "one" / "ek" needs a cue such as "number" to count.
    assert normalise_numbers(f"number {spoken} hai") == f"number {n} hai"
    assert parse_number(spoken) == n


@settings(max_examples=200, deadline=None)
@given(
    whole=st.integers(min_value=0, max_value=300),
    decimals=st.text(alphabet="0123456789", min_size=1, max_size=2),
    form=st.sampled_from(SCRIPTS),
)
def test_decimals_round_trip(whole: int, decimals: str, form: tuple[str, str]) -> None:
    value = Decimal(f"{whole}.{decimals}")
    spoken = to_words(f"{whole}.{decimals}", *form)
    assert Decimal(normalise_numbers(spoken)) == value
    assert parse_number(spoken) == float(value)


@settings(max_examples=150, deadline=None)
@given(n=st.integers(min_value=100, max_value=999).filter(lambda n: n % 100 >= 10))
def test_hundreds_said_as_pairs(n: int) -> None:
    """ "one forty" is 140: the way people read a blood pressure or a temperature aloud."""
    assert normalise_numbers(f"{to_words(n // 100)} {to_words(n % 100)}") == str(n)


@settings(max_examples=150, deadline=None)
@given(digits=st.text(alphabet="0123456789", min_size=2, max_size=8), form=st.sampled_from(SCRIPTS))
def test_ids_said_digit_by_digit(digits: str, form: tuple[str, str]) -> None:
    spoken = " ".join(to_words(int(d), *form) for d in digits)
    assert normalise_numbers(f"patient {spoken}") == f"patient {digits}"


@settings(max_examples=150, deadline=None)
@given(
    systolic=st.integers(min_value=70, max_value=250),
    diastolic=st.integers(min_value=40, max_value=150),
    pulse=st.integers(min_value=30, max_value=200),
    form=st.sampled_from(SCRIPTS),
)
def test_vitals_sentence_round_trip(systolic: int, diastolic: int, pulse: int, form: tuple[str, str]) -> None:
    separator = {"en": "over", "hi": "bata"}[form[0]] if form[1] == "latin" else "बटा"
    sentence = (
        f"bp {to_words(systolic, *form)} {separator} {to_words(diastolic, *form)} pulse {to_words(pulse, *form)} hai"
    )
    assert normalise_numbers(sentence) == f"bp {systolic}/{diastolic} pulse {pulse} hai"


@settings(max_examples=100, deadline=None)
@given(n=st.integers(min_value=0, max_value=99_999))
def test_devanagari_digits(n: int) -> None:
    assert normalise_numbers(f"umar {str(n).translate(DEVANAGARI_DIGITS)} saal") == f"umar {n} saal"
    assert parse_number(str(n).translate(DEVANAGARI_DIGITS)) == n


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_every_hindi_spelling_is_understood(data: st.DataObject) -> None:
    value = data.draw(st.sampled_from(sorted(spoken_numbers._HINDI_LATIN)))
    spelling = data.draw(st.sampled_from(spoken_numbers._HINDI_LATIN[value]))
    assert parse_number(spelling) == value
    assert parse_number(spelling.capitalize()) == value


ORDINARY_WORDS = [
    "mareez",
    "ko",
    "bukhar",
    "hai",
    "the",
    "baby",
    "is",
    "not",
    "breathing",
    "consult",
    "chahiye",
    "doctor",
    "which",
    "kar",
    "please",
    "next",
    "agla",
    "batao",
    "pain",
    "chest",
    "khansi",
    "aur",
    "one",
    "ek",
    "do",
    "saath",
    "तीव्र",
    "दर्द",
    "बच्चा",
    "को",
    "है",
    "एक",
]


@settings(max_examples=200, deadline=None)
@given(words=st.lists(st.sampled_from(ORDINARY_WORDS), min_size=1, max_size=10))
def test_sentences_without_numbers_are_unchanged(words: list[str]) -> None:
    # Two everyday number-like words side by side ("do ek") are still words.
    sentence = " ".join(words)
    assert normalise_numbers(sentence) == sentence


def test_to_words_rejects_what_cannot_be_spoken() -> None:
    with pytest.raises(ValueError):
        to_words(-3)
    with pytest.raises(ValueError):
        to_words(3, "fr")


# --- what speech recognisers write -------------------------------------------------------


@pytest.mark.parametrize(
    "heard, expected",
    [
        ("bp 140 buy 90", "bp 140/90"),  # "by", as a recogniser may write it
        ("bp one forty bye ninety", "bp 140/90"),
        ("patient id for five to one", "patient id 4521"),  # "four five two one"
        ("patient four five to one please", "patient 4521 please"),
        ("for five to one", "4521"),  # the whole answer to "what is the patient ID?"
        ("one five won too ate", "15128"),
        ("ninety-eight point six", "98.6"),
    ],
)
def test_common_mishearings_of_number_words(heard: str, expected: str) -> None:
    assert normalise_numbers(heard) == expected


@pytest.mark.parametrize(
    "sentence, expected",
    [
        ("fever for two to three days", "fever for 2 to 3 days"),  # "for" and "to" are words here
        ("two to three days", "2 to 3 days"),
        ("one to one counselling", "one to one counselling"),
        ("went to the PHC for tests", "went to the PHC for tests"),
        ("6 by 8 cm wound", "6 by 8 cm wound"),
    ],
)
def test_homophones_outside_a_run_of_digits_stay_words(sentence: str, expected: str) -> None:
    assert normalise_numbers(sentence) == expected


@pytest.mark.parametrize(
    "heard, fragment, kind",
    [
        ("temperature ninety eight point", "ninety eight point", "decimal"),
        ("temperature 98 point pulse 80", "98 point", "decimal"),
        ("one hundred and", "one hundred and", "and"),
        ("blood pressure 140 overnight temperature 98.6", "140 overnight", "pair"),  # "over ninety"
        ("bp one forty over night", "one forty over night", "pair"),
        ("bp 140 over", "140 over", "pair"),
        ("बीपी 140 बटा", "140 बटा", "pair"),
        ("bp 140/", "140/", "pair"),
        ("wajan saadhe", "saadhe", "half"),
    ],
)
def test_numbers_cut_short_are_found(heard: str, fragment: str, kind: str) -> None:
    (cut,) = spoken_numbers.unfinished_numbers(heard)
    assert (cut.text, cut.kind) == (fragment, kind)
    assert heard[cut.start : cut.end] == fragment
    assert parse_number(heard) is None  # never read as the number it started as


@pytest.mark.parametrize(
    "whole",
    [
        "temperature 98.6",
        "bp 140/90 pulse 88",
        "one hundred and forty",
        "at this point the baby cried",
        "6 by 8 cm",
        "saadhe teen kilo",
        "over the last 3 days",
        "98.6.",
        "bp 140 over 90",
    ],
)
def test_whole_numbers_are_not_cut_short(whole: str) -> None:
    assert spoken_numbers.unfinished_numbers(whole) == []


@settings(max_examples=150, deadline=None)
@given(whole=st.integers(min_value=1, max_value=999), form=st.sampled_from(SCRIPTS))
def test_a_decimal_with_nothing_after_the_point_is_cut_short(whole: int, form: tuple[str, str]) -> None:
    point = {"en": "point", "hi": "point"}[form[0]] if form[1] == "latin" else "दशमलव"
    heard = f"temperature {to_words(whole, *form)} {point}"
    assert [cut.kind for cut in spoken_numbers.unfinished_numbers(heard)] == ["decimal"]
    assert parse_number(heard) is None
    # ... while the same number with its decimal said is whole.
    assert spoken_numbers.unfinished_numbers(f"{heard} {to_words(6, *form)}") == []


@settings(max_examples=150, deadline=None)
@given(
    systolic=st.integers(min_value=70, max_value=250),
    cut=st.sampled_from(["overnight", "over night", "over", "/"]),
    form=st.sampled_from(SCRIPTS),
)
def test_a_blood_pressure_missing_its_second_number_is_cut_short(
    systolic: int, cut: str, form: tuple[str, str]
) -> None:
    heard = f"bp {to_words(systolic, *form)} {cut} pulse 88"
    assert [c.kind for c in spoken_numbers.unfinished_numbers(heard)] == ["pair"]


@settings(max_examples=150, deadline=None)
@given(
    systolic=st.integers(min_value=70, max_value=250),
    diastolic=st.integers(min_value=40, max_value=150),
    separator=st.sampled_from(["over", "by", "buy", "bye", "upon", "/", "bata"]),
)
def test_blood_pressure_separators_as_heard(systolic: int, diastolic: int, separator: str) -> None:
    heard = f"bp {to_words(systolic)} {separator} {to_words(diastolic)}"
    assert normalise_numbers(heard) == f"bp {systolic}/{diastolic}"
    assert spoken_numbers.unfinished_numbers(heard) == []


_HEARD_AS = {"4": ("for", "fore"), "2": ("to", "too"), "1": ("won",), "8": ("ate",), "3": ("tree",)}


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_ids_read_digit_by_digit_survive_homophones(data: st.DataObject) -> None:
    """A patient id of 4-8 digits, with some of its digits heard as everyday words."""
    digits = data.draw(st.text(alphabet="0123456789", min_size=4, max_size=8))
    words = [to_words(int(d)) for d in digits]
    real = data.draw(st.sets(st.sampled_from(range(len(digits))), min_size=2, max_size=2))
    for index, digit in enumerate(digits):
        if index not in real and digit in _HEARD_AS and data.draw(st.booleans()):
            words[index] = data.draw(st.sampled_from(_HEARD_AS[digit]))
    assert normalise_numbers(f"patient id {' '.join(words)}") == f"patient id {digits}"
