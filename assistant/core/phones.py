"""Phone numbers as the messaging apps and the backend compare them."""

from __future__ import annotations

import re


def phone_digits(number: str) -> str:
    """``+91 98000-00001``, ``whatsapp:+919800000001`` and ``919800000001`` are one number."""
    return re.sub(r"\D", "", number.removeprefix("whatsapp:"))
