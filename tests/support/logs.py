"""Looking for patient ids in the logs a stack wrote."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path


def mentions(text: str, value: str) -> bool:
    """Whether ``value`` appears in ``text`` as a value of its own.

    Not inside a longer word or number (a hash, a phone number), and not as a
    process id (``[4521]``) or a port (``:4521``), which logs hold for other
    reasons and may equal a short patient id by chance.
    """
    return re.search(rf"(?<![\w\[:/.,+-]){re.escape(value)}(?![\w\]])", text) is not None


def logs_mentioning(log_dir: Path, values: Iterable[str]) -> list[str]:
    """``"<log file>: <value>"`` for every value some log of ``log_dir`` mentions."""
    wanted = sorted(set(values))
    found = []
    for path in sorted(log_dir.glob("*.log")):
        text = path.read_text(errors="replace")
        found += [f"{path.name}: {value}" for value in wanted if mentions(text, value)]
    return found
