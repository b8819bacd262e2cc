"""JSON helpers shared by the handlers."""

from __future__ import annotations

import datetime as dt
from typing import Optional


def iso(value: Optional[dt.datetime]) -> Optional[str]:
    """ISO-8601 in UTC with a ``Z``, the form every client here parses."""
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
