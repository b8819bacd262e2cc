"""Text that no UTF-8 encoder takes: a lone UTF-16 surrogate, which JSON can carry as an escape.

JSON may write half of a surrogate pair on its own (``"\\ud800"``), and
Python's ``json`` module decodes that into a ``str`` holding the lone
surrogate. Nothing downstream can store or send it: SQLite, PostgreSQL, a
UTF-8 log file and Rasa's tracker all fail on it, as an error of theirs
(once a 500). So every reader of a JSON body looks for it first
(``lone_surrogate_at``) and refuses the request in its own words.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any

LONE_SURROGATE = re.compile("[\ud800-\udfff]")
NOT_UNICODE = "is not valid Unicode text (it holds half of a UTF-16 surrogate pair)"


def lone_surrogate_at(value: Any) -> str | None:
    """Where in a decoded JSON value a string (or an object's key) holds a lone surrogate, else ``None``.

    The place is the field's dotted path (``vitals.notes``, ``items[2].text``);
    a key is placed at the object holding it, and ``""`` is the value itself.
    Iterative, not recursive: a body nested as deep as ``json`` allows must not
    overflow the stack here.
    """
    pending: deque[tuple[str, Any]] = deque([("", value)])
    while pending:
        path, item = pending.popleft()
        if isinstance(item, str):
            if LONE_SURROGATE.search(item):
                return path
        elif isinstance(item, dict):
            for key, child in item.items():
                if LONE_SURROGATE.search(key):
                    return path
                pending.append((f"{path}.{key}" if path else key, child))
        elif isinstance(item, list):
            pending.extend((f"{path}[{index}]", child) for index, child in enumerate(item))
    return None


def not_unicode_message(path: str, whole: str = "The request body") -> str:
    """The refusal in words, naming the field (``whole`` when it is the value itself)."""
    return f"{path if path else whole} {NOT_UNICODE}."
