"""The Rasa release our extensions were written against: each replaces or wraps one of its internals."""

from __future__ import annotations

import rasa

SUPPORTED_RASA = "3.6."


def require_supported_rasa(extension: str) -> None:
    """Refuse to install ``extension`` on another Rasa release, whose internals may differ."""
    if not rasa.__version__.startswith(SUPPORTED_RASA):
        raise RuntimeError(f"{extension} was written for Rasa {SUPPORTED_RASA}x, not {rasa.__version__}")
