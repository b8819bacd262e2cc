"""Phone numbers as the messaging apps and the backend compare them."""

from __future__ import annotations

import re

# E.164: at most 15 digits; fewer than 8 is no real subscriber number anywhere.
PHONE_DIGITS = (8, 15)


def phone_digits(number: str) -> str:
    """``+91 98000-00001``, ``whatsapp:+919800000001`` and ``919800000001`` are one number."""
    return re.sub(r"\D", "", number.removeprefix("whatsapp:"))


def international(number: str) -> str:
    """The number as stored (``+919812345678``); ``ValueError`` when it cannot be one in international form."""
    digits = phone_digits(number)
    low, high = PHONE_DIGITS
    if not low <= len(digits) <= high or re.search(r"[^\d\s+().-]", number.removeprefix("whatsapp:")):
        raise ValueError("give the number in international form, e.g. +919812345678")
    return "+" + digits
