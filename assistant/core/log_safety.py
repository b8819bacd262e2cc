"""Log lines cannot be forged: control characters in logged values are escaped.

A path, a worker id or a message a caller sent can hold a newline; written
as is, it would start a fake log line ("... 200\\n2026-12-01 INFO login for
S001"). ``install`` wraps the log record factory of the process, so every
value passed as a logging argument (``log.info("... %s", value)``) has its
control characters written as escapes (``\\n``, ``\\x1b``), whatever the
handler. Format strings are the code's own and stay as written.
"""

from __future__ import annotations

import logging
import re
from typing import Any

# C0 controls (tab aside), DEL, C1 controls and the Unicode line and paragraph separators.
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_INSTALLED = "_assistant_escapes_log_arguments"


def escape(text: str) -> str:
    return _UNSAFE.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), text)


def _escaped(value: Any) -> Any:
    return escape(value) if isinstance(value, str) else value


def install() -> None:
    """Escape the string arguments of every log record made in this process (idempotent)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, _INSTALLED, False):
        return

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if isinstance(record.args, tuple):
            record.args = tuple(_escaped(value) for value in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _escaped(value) for key, value in record.args.items()}
        return record

    setattr(make_record, _INSTALLED, True)
    logging.setLogRecordFactory(make_record)
