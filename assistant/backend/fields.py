"""Declared request fields: each one both checks what a caller sent and describes it in ``/openapi.json``.

A bound (a length, a range, the allowed values, whether it must be given)
is written once, in a declaration here or next to the handler that reads it,
and both ``parse`` (which answers the 4xx) and ``schema`` (which the
published description is built from) read it, so the two cannot drift.
``tests/backend/test_documented_limits.py`` sends every documented bound,
and one past it, to the real app.

- ``Field`` subclasses are single values: ``parse(value)`` takes what was sent
  (``None`` when it was left out) and returns the checked value or raises an
  ``ApiError`` (422, with ``error.field``).
- ``Body`` is a JSON object's fields, read in order: its ``parse(body)`` is a
  dict of the checked values, its ``schema()`` goes under ``components/schemas``.
- ``Parameter`` is a field of the query string, the path or the headers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import KW_ONLY, dataclass
from typing import Any, Literal

from aiohttp import web

from assistant.backend.errors import ApiError, invalid, unknown_value
from assistant.core.rules import CONTROL_CHARACTERS, MAX_ID, MAX_TEXT
from assistant.core.spoken_times import parse_iso

# Times and dates outside these years are typos (and near the ends of the calendar, date arithmetic overflows).
YEARS = (2000, 2999)
# An ISO-8601 time with fractions of a second and its offset fits in this; anything longer is not a time.
MOMENT_LENGTH = 40
# A would-be choice longer than any value is refused as too long, rather than repeated back in the error.
CHOICE_LENGTH = 64
# A whole number is at most this many characters (a sign and digits) before it is even converted.
WHOLE_NUMBER_DIGITS = 20
FLAGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


@dataclass(frozen=True)
class Field(ABC):
    """One named value of a request: how it is checked and how it is described."""

    name: str
    _: KW_ONLY
    required: bool = False
    description: str | None = None

    @abstractmethod
    def parse(self, value: Any) -> Any:
        """The checked value of what was sent (``None``: left out); raises ``ApiError`` (422) naming the field."""

    @abstractmethod
    def schema(self) -> dict[str, Any]:
        """The value's JSON Schema, as ``/openapi.json`` publishes it."""

    def documented(self) -> dict[str, Any]:
        """The schema with the field's description, for a property of a body."""
        return {**self.schema(), **({"description": self.description} if self.description else {})}

    def components(self) -> dict[str, Any]:
        """Schemas this one refers to (``$ref``), by name; most fields refer to none."""
        return {}

    def missing(self) -> ApiError:
        return invalid(self.name, f"{self.name} is required.")


@dataclass(frozen=True)
class Text(Field):
    """Free text: trimmed, at most ``limit`` characters, no control characters; blank counts as left out."""

    limit: int = MAX_TEXT

    def parse(self, value: Any) -> str | None:
        name = self.name
        if value is None or (isinstance(value, str) and not value.strip()):
            if self.required:
                raise self.missing()
            return None
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise invalid(name, f"{name} must be text.")
        text = str(value).strip()
        if len(text) > self.limit:
            raise invalid(name, f"{name} is longer than {self.limit} characters.")
        if CONTROL_CHARACTERS.search(text):
            raise invalid(name, f"{name} must not contain control characters.")
        return text

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "maxLength": self.limit}


@dataclass(frozen=True)
class Identifier(Field):
    """A key or an id as sent (a worker id, a PIN, a phone): at most ``limit`` characters, measured untrimmed."""

    limit: int

    def parse(self, value: Any) -> str | None:
        name = self.name
        if value is None or value == "":
            if self.required:
                raise self.missing()
            return None
        if not isinstance(value, str) or len(value) > self.limit:
            raise invalid(name, f"{name} must be text of at most {self.limit} characters.")
        return value.strip()

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "maxLength": self.limit}


@dataclass(frozen=True)
class Listed(Identifier):
    """An identifier that must be one of ``allowed``, exactly (a validation error lists them)."""

    allowed: tuple[str, ...] = ()

    def parse(self, value: Any) -> str | None:
        said = super().parse(value)
        if said is not None and said not in self.allowed:
            allowed = list(self.allowed)
            raise invalid(self.name, f"{self.name} must be one of: {', '.join(allowed)}.", allowed=allowed)
        return said

    def schema(self) -> dict[str, Any]:
        # The allowed values are the bound; the length limit only stops a long value before it is compared.
        return {"type": "string", "enum": list(self.allowed)}


@dataclass(frozen=True)
class Choice(Field):
    """One of ``allowed``, in any case (``any_case``) or exactly as listed; ``default`` when left out."""

    allowed: tuple[str, ...]
    default: str | None = None
    any_case: bool = True

    def parse(self, value: Any) -> str | None:
        if not self.any_case:
            if value is None:
                return self._left_out()
            if value not in self.allowed:
                raise unknown_value(self.name, value, self.allowed)
            return str(value)
        text = Text(self.name, limit=CHOICE_LENGTH).parse(value)
        if text is None:
            return self._left_out()
        normalised = text.lower()
        if normalised not in self.allowed:
            raise unknown_value(self.name, text, self.allowed)
        return normalised

    def _left_out(self) -> str | None:
        if self.required and self.default is None:
            raise self.missing()
        return self.default

    def missing(self) -> ApiError:
        allowed = list(self.allowed)
        return invalid(self.name, f"{self.name} is required: one of {', '.join(allowed)}.", allowed=allowed)

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "enum": list(self.allowed)}
        if self.default is not None:
            schema["default"] = self.default
        return schema


def choice(name: str, allowed: Iterable[str], **options: Any) -> Choice:
    """A ``Choice`` of any iterable of values (a vocabulary's dict gives its keys)."""
    return Choice(name, tuple(allowed), **options)


@dataclass(frozen=True)
class Whole(Field):
    """A whole number from ``low`` to ``high``, as a JSON number or its digits; ``default`` when left out."""

    low: int
    high: int
    default: int | None = None

    def parse(self, value: Any) -> int | None:
        name = self.name
        if value is None:
            if self.required:
                raise self.missing()
            return self.default
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise invalid(name, f"{name} must be a whole number.")
        raw = str(value).strip()
        if not raw.isascii() or not raw.lstrip("-").isdigit() or len(raw) > WHOLE_NUMBER_DIGITS:
            raise invalid(name, f"{name} must be a whole number.")
        number = int(raw)
        if not self.low <= number <= self.high:
            raise invalid(name, f"{name} must be between {self.low} and {self.high}.")
        return number

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer", "minimum": self.low, "maximum": self.high}
        if self.default is not None:
            schema["default"] = self.default
        return schema


def record_id(name: str, **options: Any) -> Whole:
    """A record id: 1 to ``MAX_ID``, as every database here stores it."""
    return Whole(name, 1, MAX_ID, **options)


@dataclass(frozen=True)
class Number(Field):
    """A finite number from ``low`` to ``high`` ``unit``: outside, it is a typo or a mis-hearing.

    ``field`` is where an error points when it is not ``name`` (``vitals.pulse``).
    """

    low: float
    high: float
    unit: str
    field: str | None = None

    def parse(self, value: Any) -> float | None:
        number = self.number(value)
        if number is not None:
            self.check(number)
        return number

    def number(self, value: Any) -> float | None:
        """Only the type: a finite number, or ``None`` when left out (``check`` is the range)."""
        label = self.field or self.name
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise invalid(label, f"{label} must be a number.")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise invalid(label, f"{label} must be a number, not {str(value)[:40]!r}.") from None
        except OverflowError:  # 10**400: a number, but no float can hold it
            raise invalid(label, f"{label} is far out of range.") from None
        if not math.isfinite(number):
            raise invalid(label, f"{label} must be a finite number.")
        return number

    def check(self, number: float) -> None:
        if not self.low <= number <= self.high:
            message = f"{self.name} {number:g} is impossible; expected {self.low:g} to {self.high:g} {self.unit}."
            raise invalid(self.field or self.name, message)

    def schema(self) -> dict[str, Any]:
        return {"type": "number", "minimum": self.low, "maximum": self.high, "description": self.unit}


def _in_years(value: dt.date, name: str) -> None:
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise invalid(name, f"{name} must be in the years {YEARS[0]} to {YEARS[1]}.")


@dataclass(frozen=True)
class Moment(Field):
    """An ISO-8601 time with its UTC offset (``Z`` or ``+05:30``), returned as aware UTC."""

    def parse(self, value: Any) -> dt.datetime | None:
        name = self.name
        if value is None and not self.required:
            return None
        example = f"{name} must be an ISO-8601 time with its offset, for example 2024-05-01T10:30:00+05:30."
        if not isinstance(value, str) or len(value) > MOMENT_LENGTH:
            raise invalid(name, example)
        try:
            parsed = parse_iso(value.strip())
        except ValueError:
            raise invalid(name, example) from None
        if parsed.tzinfo is None:
            raise invalid(name, f"{name} needs its UTC offset (Z or +05:30): a time alone is ambiguous.")
        _in_years(parsed, name)
        return parsed.astimezone(dt.timezone.utc)

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "date-time", "maxLength": MOMENT_LENGTH}

    def documented(self) -> dict[str, Any]:
        said = f"{self.description}. " if self.description else ""
        return {**self.schema(), "description": f"{said}ISO-8601 with its UTC offset, in {YEARS[0]}-{YEARS[1]}"}


@dataclass(frozen=True)
class Day(Field):
    """A calendar date ``YYYY-MM-DD``."""

    def parse(self, value: Any) -> dt.date | None:
        if value is None:
            return None
        try:
            day = dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
        except ValueError:
            day = None
        if day is None:
            raise invalid(self.name, f"{self.name} must be a date YYYY-MM-DD.")
        _in_years(day, self.name)
        return day

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "date"}

    def documented(self) -> dict[str, Any]:
        said = f"{self.description}. " if self.description else ""
        return {**self.schema(), "description": f"{said}In {YEARS[0]}-{YEARS[1]}"}


@dataclass(frozen=True)
class Flag(Field):
    """Yes or no: true/false, 1/0, yes/no."""

    default: bool = False

    def parse(self, value: Any) -> bool:
        if value is None:
            return self.default
        said = str(value).lower()
        if said not in FLAGS:
            raise invalid(self.name, f"{self.name} must be true or false.")
        return FLAGS[said]

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean", "default": self.default}


@dataclass(frozen=True)
class Filter(Field):
    """A value a listing is narrowed to, as sent: one that matches nothing finds nothing."""

    def parse(self, value: Any) -> str | None:
        return None if value is None else str(value)

    def schema(self) -> dict[str, Any]:
        return {"type": "string"}


@dataclass(frozen=True)
class Matching(Field):
    """Text that must match ``pattern`` (which bounds its length: ``max_length`` says how far)."""

    pattern: re.Pattern[str]
    max_length: int
    meaning: str  # what a matching value is, in the refusal: "a worker id (letters, digits...)"

    def parse(self, value: Any) -> str | None:
        if value is None:
            if self.required:
                raise self.missing()
            return None
        if not isinstance(value, str) or not self.pattern.match(value):
            raise invalid(self.name, f"{self.name} must be {self.meaning}.")
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": self.pattern.pattern, "maxLength": self.max_length}


@dataclass(frozen=True)
class Parsed(Field):
    """A value one of the domain's own readers checks (``read``), described from that rule's constants.

    For the rules the console or the roster import share (``assistant.domain``):
    weekly hours' weekdays, clock times and slot lengths. ``read`` is given
    ``None`` for a value left out, and refuses it if the field is ``required``.
    """

    read: Callable[[Any], Any]
    described: Mapping[str, Any]

    def parse(self, value: Any) -> Any:
        return self.read(value)

    def schema(self) -> dict[str, Any]:
        return dict(self.described)


@dataclass(frozen=True)
class Items(Field):
    """A list of at most ``limit`` JSON objects, each read by ``item`` (a ``Body``); an error names its place.

    ``follow_ups[1].task`` is the second object's ``task``. Left out, it is the empty list.
    """

    item: Body
    limit: int

    def parse(self, value: Any) -> list[dict[str, Any]]:
        name = self.name
        if value is None:
            if self.required:
                raise self.missing()
            return []
        if not isinstance(value, list):
            raise invalid(name, f"{name} must be a list of objects.")
        if len(value) > self.limit:
            raise invalid(name, f"{name} holds at most {self.limit} items.")
        parsed = []
        for number, element in enumerate(value):
            if not isinstance(element, dict):
                raise invalid(f"{name}[{number}]", f"{name}[{number}] must be an object.")
            try:
                parsed.append(self.item.parse(element))
            except ApiError as exc:
                inner = exc.details.get("field")
                where = f"{name}[{number}]" + (f".{inner}" if inner else "")
                details = {**exc.details, "field": where}
                raise ApiError(exc.status, exc.code, f"{where}: {exc.message}", **details) from None
        return parsed

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "maxItems": self.limit, "items": self.item.reference()}

    def components(self) -> dict[str, Any]:
        return self.item.components()


def as_required(field: Field) -> Field:
    """The same field, which must be given."""
    return dataclasses.replace(field, required=True)


class Body:
    """A JSON object's declared fields, read in order, and its schema under ``components/schemas/<title>``."""

    def __init__(self, title: str, *fields: Field, description: str | None = None) -> None:
        self.title = title
        self.fields = fields
        self.description = description

    def parse(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Each field's checked value, by name; the first wrong one (in declared order) is the 422."""
        return {field.name: field.parse(body.get(field.name)) for field in self.fields}

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "object"}
        if self.description:
            schema["description"] = self.description
        names = [field.name for field in self.fields if field.required]
        if names:
            schema["required"] = names
        schema["properties"] = {field.name: field.documented() for field in self.fields}
        return schema

    def reference(self) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{self.title}"}

    def components(self) -> dict[str, Any]:
        """This schema and those its fields refer to, for ``components/schemas``."""
        found = {self.title: self.schema()}
        for field in self.fields:
            found.update(field.components())
        return found

    def request_body(self, *, required: bool = True) -> dict[str, Any]:
        return {"required": required, "content": {"application/json": {"schema": self.reference()}}}


@dataclass(frozen=True)
class Parameter:
    """A field of the query string (``query``), the path (``path``) or the headers (``header``).

    An empty query value is a form field left blank: it counts as left out.
    ``repeated`` (query only): ``?channel=web&channel=voice``, a list of the values given.
    """

    where: Literal["query", "path", "header"]
    field: Field
    repeated: bool = False

    @property
    def name(self) -> str:
        return self.field.name

    def raw(self, request: web.Request) -> str | None:
        if self.where == "path":
            return request.match_info.get(self.name)
        source = request.headers if self.where == "header" else request.query
        return source.get(self.name) or None

    def given(self, request: web.Request) -> bool:
        return self.raw(request) is not None

    def read(self, request: web.Request) -> Any:
        if self.repeated:
            values = [self.field.parse(value) for value in request.query.getall(self.name, []) if value]
            return [value for value in values if value is not None]
        return self.field.parse(self.raw(request))

    def describe(self) -> dict[str, Any]:
        schema = self.field.documented()
        description = schema.pop("description", None)  # a parameter's own, beside its schema
        if self.repeated:
            schema = {"type": "array", "items": schema}
        described: dict[str, Any] = {
            "name": self.name,
            "in": self.where,
            "required": self.where == "path" or self.field.required,
            "schema": schema,
        }
        if self.repeated:
            described.update(style="form", explode=True)
        if description:
            described["description"] = description
        return described


def parameters(*declared: Parameter) -> list[dict[str, Any]]:
    """An operation's ``parameters``, as ``/openapi.json`` lists them."""
    return [parameter.describe() for parameter in declared]
