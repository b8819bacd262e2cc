"""One page of the people someone may see: searched, filtered and counted in SQL.

A district holds thousands of people (Sirohi alone about 1,100 ASHAs and
ANMs), so the console's People page never loads everyone: the database
counts the matches and sends one page of them, by id. Search matches part of
an id or a name (case-insensitive), or the last digits of a phone number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import noload
from sqlalchemy.sql.elements import ColumnElement

from assistant.core.rules import CONTROL_CHARACTERS
from assistant.core.vocabulary import PEOPLE_ROLES
from assistant.db.models import Worker
from assistant.domain.people import person_json

PAGE_SIZE = 50
# Longer than any id (64) or a name anyone types; a longer "search" is not one.
SEARCH_LIMIT = 64
# Past any district's last page (2,000 people are 40 pages); larger numbers are refused, not clamped.
MAX_PAGE = 10_000
# A search of only digits, at least this many, also matches the end of a phone number.
PHONE_SUFFIX_DIGITS = 4
LIKE_ESCAPE = "\\"


@dataclass(frozen=True)
class PeopleQuery:
    facilities: frozenset[str] | None  # whose facilities may be listed; None: everyone's (an admin)
    search: str = ""
    role: str | None = None
    page: int = 1


@dataclass(frozen=True)
class PeoplePage:
    people: list[dict[str, Any]]
    total: int
    page: int  # the page shown: the one asked for, or the last when it asked past the end
    pages: int

    @property
    def previous(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None


def clean_search(raw: str) -> str:
    """The search text, its whitespace collapsed; ``ValueError`` says why it is no search."""
    text = " ".join(raw.split())
    if len(text) > SEARCH_LIMIT:
        raise ValueError(f"Search for at most {SEARCH_LIMIT} characters: part of an id, a name or a phone number.")
    if CONTROL_CHARACTERS.search(text):
        raise ValueError("The search holds characters no id or name has.")
    return text


def clean_role(raw: str) -> str | None:
    role = raw.strip()
    if not role:
        return None
    if role not in PEOPLE_ROLES:
        raise ValueError(f"Role must be one of: {', '.join(PEOPLE_ROLES)}.")
    return role


def _matches(search: str) -> ColumnElement[bool]:
    escaped = (
        search.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
    )
    pattern = f"%{escaped}%"
    conditions = [Worker.id.ilike(pattern, escape=LIKE_ESCAPE), Worker.name.ilike(pattern, escape=LIKE_ESCAPE)]
    if search.isdigit() and len(search) >= PHONE_SUFFIX_DIGITS:
        conditions.append(Worker.phone.like(f"%{search}"))
    return or_(*conditions)


async def search_people(session: AsyncSession, query: PeopleQuery) -> PeoplePage:
    """The page of people matching ``query`` (by id), and how many match in all."""
    conditions: list[ColumnElement[bool]] = []
    if query.facilities is not None:
        conditions.append(Worker.facility_id.in_(sorted(query.facilities)))
    if query.role is not None:
        conditions.append(Worker.role == query.role)
    if query.search:
        conditions.append(_matches(query.search))
    total = (await session.execute(select(func.count()).select_from(Worker).where(*conditions))).scalar_one()
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(1, query.page), pages)
    rows = (
        await session.execute(
            select(Worker)
            .options(noload(Worker.facility))  # the page names facilities from the viewer's own list
            .where(*conditions)
            .order_by(Worker.id)
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        )
    ).scalars()
    return PeoplePage([person_json(worker) for worker in rows], total, page, pages)
