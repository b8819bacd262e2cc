"""How a consult's time is said to a worker: "today at 3:30 PM", "कल 15:30 बजे", in the clinic's time zone.

The action server's replies and the hub's notices (``assistant.domain.consult_notices``) both say times this way.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

_PHRASES = {
    "today": {"en": "today at {time}", "hi": "आज {time} बजे"},
    "tomorrow": {"en": "tomorrow at {time}", "hi": "कल {time} बजे"},
    "on_date": {"en": "on {date} at {time}", "hi": "{date} को {time} बजे"},
}
_HINDI_MONTHS = ("जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून", "जुलाई", "अगस्त", "सितंबर", "अक्टूबर", "नवंबर", "दिसंबर")


def parse_iso(value: str) -> dt.datetime:
    """An ISO-8601 time as the backend writes it (``...Z``), timezone-aware."""
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def when_phrase(
    moment: str | dt.datetime | None,
    language: str,
    timezone: str,
    now: dt.datetime | None = None,
    *,
    relative: bool = True,
) -> str:
    """ "today at 3:30 PM" / "आज 15:30 बजे" for a UTC time (ISO-8601 or aware), in ``timezone``.

    ``relative=False`` always names the date: for words that may be read a day after they were written.
    """
    if not moment:
        return ""
    zone = ZoneInfo(timezone)
    local = (parse_iso(moment) if isinstance(moment, str) else moment).astimezone(zone)
    today = (now or dt.datetime.now(dt.timezone.utc)).astimezone(zone).date()
    clock = local.strftime("%H:%M") if language == "hi" else local.strftime("%I:%M %p").lstrip("0")
    language = language if language in ("en", "hi") else "en"
    if relative and local.date() == today:
        return _PHRASES["today"][language].format(time=clock)
    if relative and local.date() == today + dt.timedelta(days=1):
        return _PHRASES["tomorrow"][language].format(time=clock)
    date = f"{local.day} {_HINDI_MONTHS[local.month - 1]}" if language == "hi" else local.strftime("%d %b").lstrip("0")
    return _PHRASES["on_date"][language].format(date=date, time=clock)
