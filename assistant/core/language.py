"""Which language a text is in: the one rule the action server, the channels, voice and Rasa share.

Devanagari script is Hindi. Romanised text is Hindi when it uses more words
that only romanised Hindi uses than words only English uses ("cancel kar do"
is Hindi, "show me the checklist" English); a tie keeps the language the
conversation already has. Short answers ("yes", "next", "4521") say nothing.
"""

from __future__ import annotations

import re

_DEVANAGARI = re.compile(r"[\u0900-\u097f]")
_WORD = re.compile(r"[a-z']+")
# Romanised Hindi words that English does not use, and English words that
# romanised Hindi does not use. Shared words ("doctor", "patient", "bp", and
# "do", which is Hindi in "cancel kar do") say nothing.
_HINDI_WORDS = frozenset(
    "hai hain chahiye karo kariye kijiye karna karni karwa karwao karwana kya kaise kab kitne mein ka ki ke ko se "
    "nahi nahin haan ji batao bataiye bolo agla pichla dobara mareez mareej bachche bachon bacchon aurat aadmi saal "
    "wala wale wali mera meri mere aap tum hua ho gaya dikhao lagao darj jaldi dard bukhar theek sahi galat ruko "
    "band bas madad dhanyavaad dhanyawad shukriya alvida chalo jao peeche aage fir phir abhi liye raha rahi tha thi "
    "kar kare karein karen karte kardo dijiye dena hatao hata radd baat banao banana naya nayi purana".split()
)
_ENGLISH_WORDS = frozenset(
    "the is are was a an to for of i my please what how can you with and need want does me this that "
    "it's is there show tell book give get have has".split()
)


def script_language(text: str) -> str | None:
    """ "hi" when ``text`` is written in Devanagari, else ``None`` (the script alone says no more)."""
    return "hi" if _DEVANAGARI.search(text) else None


def detect_language(text: str, current: str) -> str:
    """ "hi" for Devanagari or romanised Hindi, "en" for English, else ``current``."""
    if script_language(text):
        return "hi"
    words = _WORD.findall(text.lower())
    hindi = sum(word in _HINDI_WORDS for word in words)
    english = sum(word in _ENGLISH_WORDS for word in words)
    if hindi > english:
        return "hi"
    if english > hindi:
        return "en"
    return current
