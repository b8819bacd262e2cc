"""Reading query and form values, with a clear answer for bad input."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from aiohttp import web

from assistant.console.conversations import Cursor, Filters
from assistant.core.vocabulary import CHANNELS

IDENTIFIER = re.compile(r"^[A-Za-z0-9_\-./:@]{1,100}$")
TRUE_VALUES = {"1", "on", "true", "yes"}


class BadInput(web.HTTPBadRequest):
    def __init__(self, message: str) -> None:
        super().__init__(text=message)


async def form_fields(request: web.Request) -> dict[str, str]:
    """A posted form's text fields (a file sent in their place is no value at all); every form is read here.

    aiohttp decodes a form's bytes strictly: bytes that are not UTF-8 raise, and would be a 500.
    """
    try:
        form = await request.post()
    except UnicodeDecodeError:
        raise BadInput("The form is not valid Unicode text (UTF-8); nothing was changed.") from None
    return {name: value for name, value in form.items() if isinstance(value, str)}


def identifier(values: Mapping[str, str], name: str) -> str | None:
    raw = (values.get(name) or "").strip()
    if not raw:
        return None
    if not IDENTIFIER.match(raw):
        raise BadInput(f"{name}: {raw[:40]!r} is not a valid id.")
    return raw


def date(values: Mapping[str, str], name: str) -> dt.date | None:
    raw = (values.get(name) or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise BadInput(f"{name}: {raw[:40]!r} is not a date; use YYYY-MM-DD.") from None


def integer(values: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = (values.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadInput(f"{name}: {raw[:40]!r} is not a whole number.") from None
    if not low <= value <= high:
        raise BadInput(f"{name} must be between {low} and {high}.")
    return value


def path_id(request: web.Request, name: str = "id") -> int:
    raw = request.match_info[name]
    if not raw.isdigit() or len(raw) > 18:
        raise web.HTTPNotFound(text="No such record.")
    return int(raw)


def cursor(values: Mapping[str, str], name: str) -> Cursor | None:
    raw = values.get(name)
    if not raw:
        return None
    try:
        return Cursor.parse(raw)
    except ValueError:
        raise BadInput(f"{name}: not a page position from this console.") from None


def filters(values: Mapping[str, str]) -> Filters:
    channel = identifier(values, "channel")
    if channel and channel not in CHANNELS:
        raise BadInput(f"channel must be one of: {', '.join(CHANNELS)}.")
    date_from, date_to = date(values, "date_from"), date(values, "date_to")
    if date_from and date_to and date_from > date_to:
        raise BadInput("The date range ends before it starts.")
    return Filters(
        worker=identifier(values, "worker"),
        facility=identifier(values, "facility"),
        date_from=date_from,
        date_to=date_to,
        channel=channel,
        intent=identifier(values, "intent"),
        fallback=(values.get("fallback") or "").lower() in TRUE_VALUES,
        encounter=(values.get("encounter") or "").lower() in TRUE_VALUES,
        consult=(values.get("consult") or "").lower() in TRUE_VALUES,
    )


def day_bounds(first: dt.date | None, last: dt.date | None, zone: str) -> tuple[float | None, float | None]:
    """Local calendar days as Unix-time bounds: [start of ``first``, end of ``last``)."""
    tz = ZoneInfo(zone)

    def midnight(day: dt.date) -> float:
        return dt.datetime.combine(day, dt.time(), tz).timestamp()

    return (
        midnight(first) if first else None,
        midnight(last + dt.timedelta(days=1)) if last else None,
    )
