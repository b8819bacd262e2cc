"""What a worker's PIN for the chat channels may be, and a fresh one (rules in ``assistant.core.rules``)."""

from __future__ import annotations

import secrets

from assistant.core.rules import GENERATED_PIN_DIGITS, PIN_PATTERN


def check_pin_format(pin: str) -> str:
    pin = pin.strip()
    if not PIN_PATTERN.match(pin):
        raise ValueError("a PIN is 6 to 8 digits")
    if len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210":
        raise ValueError("choose a PIN that is not all one digit or a run like 1234")
    return pin


def generate_pin() -> str:
    while True:
        pin = "".join(secrets.choice("0123456789") for _ in range(GENERATED_PIN_DIGITS))
        try:
            return check_pin_format(pin)
        except ValueError:
            continue
