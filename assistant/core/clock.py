"""The one clock of follow-up tasks: "now" and the clinic's local "today", shiftable for drills and tests.

Whether a task is due today, overdue, or to be reminded of this morning is a
matter of the local date (``Settings.timezone``). A test or a drill moves it
forward by ``Settings.clock_offset_days`` instead of waiting for the days to
pass; everything that asks "what day is it" for tasks asks a ``Clock``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Clock:
    timezone: str = "Asia/Kolkata"
    offset_days: float = 0.0

    def now(self) -> dt.datetime:
        """Aware UTC, moved by the offset."""
        return dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=self.offset_days)

    def local(self, moment: dt.datetime | None = None) -> dt.datetime:
        return (moment or self.now()).astimezone(ZoneInfo(self.timezone))

    def today(self, moment: dt.datetime | None = None) -> dt.date:
        """The clinic's local date at ``moment`` (default: now)."""
        return self.local(moment).date()
