"""The facilities of a programme, and the hub that serves each.

A hub (a medical college) serves itself. Any other facility is served by the
hub it names (``hub_id``), or else by its parent's hub, and so on up; one
that reaches no hub is served by none (its consults wait, ``no_hub``). The
answer is kept on each facility (``served_by``) so that booking, the hub desk
and scoping find a hub's facilities and specialists with one indexed lookup;
``resolve_served_by`` recomputes it whenever facilities change (the seed, an
import, and each start, for a database from before the column existed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.core.rules import CONTROL_CHARACTERS, DISTRICT_LIMIT, FACILITY_ID, NAME_LIMIT
from assistant.core.vocabulary import FACILITY_KINDS
from assistant.db.models import Consult, Facility

HUB = "hub"


@dataclass(frozen=True)
class Place:
    """What decides a facility's hub."""

    kind: str
    parent_id: str | None
    hub_id: str | None


def serving_hubs(places: Mapping[str, Place]) -> dict[str, str | None]:
    """Each facility's hub: itself for a hub, else the first ``hub_id`` named on the way up its parents.

    A facility on a loop of parents, or under a parent that does not exist,
    reaches no hub (``None``); the imports refuse both before it comes to that.
    """
    served: dict[str, str | None] = {}
    for start in places:
        path: list[str] = []
        current: str | None = start
        hub: str | None = None
        while current is not None and current not in served and current not in path:
            place = places.get(current)
            if place is None:
                break
            path.append(current)
            if place.kind == HUB:
                hub = current
                break
            if place.hub_id is not None:
                hub = place.hub_id
                break
            current = place.parent_id
        else:
            if current is not None and current in served:
                hub = served[current]
        for facility_id in path:
            served[facility_id] = hub
        served.setdefault(start, hub)
    return served


async def resolve_served_by(session: AsyncSession) -> int:
    """Recompute every facility's ``served_by``; returns how many changed."""
    rows = (
        await session.execute(
            select(Facility.id, Facility.kind, Facility.parent_id, Facility.hub_id, Facility.served_by)
        )
    ).all()
    places = {row.id: Place(row.kind, row.parent_id, row.hub_id) for row in rows}
    hubs = serving_hubs(places)
    changed = [{"facility": row.id, "hub": hubs[row.id]} for row in rows if row.served_by != hubs[row.id]]
    if changed:  # one statement for all (executemany): an import may move thousands of facilities at once
        table = Facility.__table__
        statement = table.update().where(table.c.id == bindparam("facility")).values(served_by=bindparam("hub"))
        await session.execute(statement, changed)  # as before: facilities already loaded keep their old served_by
    return len(changed)


async def refresh_hubs(session: AsyncSession) -> int:
    """After facilities changed: recompute ``served_by``, and give a hub to consults that had none.

    A consult keeps the hub it was asked at (or referred to); only one asked
    where no hub served yet (``no_hub``), or stored before consults had hubs,
    moves into the queue of the hub that serves its facility now. Returns how
    many facilities changed hub.
    """
    changed = await resolve_served_by(session)
    served_by = select(Facility.served_by).where(Facility.id == Consult.facility_id).scalar_subquery()
    await session.execute(
        update(Consult)
        .where(Consult.hub_id.is_(None))
        .values(hub_id=served_by)
        .execution_options(synchronize_session=False)
    )
    return changed


async def hub_of(session: AsyncSession, facility_id: str) -> str | None:
    """The hub serving ``facility_id`` (``None``: no hub, or no such facility)."""
    served_by = (await session.execute(select(Facility.served_by).where(Facility.id == facility_id))).scalar()
    return served_by if isinstance(served_by, str) else None


class InvalidFacility(ValueError):
    """What is wrong with a facility's details, and which detail (``field``: id, name, kind, district)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_facility(facility_id: str, name: str, kind: str, district: str) -> None:
    """``InvalidFacility`` unless these can be a facility's id, name, kind and district (the one check of them)."""
    if not FACILITY_ID.match(facility_id):
        raise InvalidFacility("id", "a facility id is 1-64 letters, digits, '-', '_' or '.'")
    if not name or len(name) > NAME_LIMIT or CONTROL_CHARACTERS.search(name):
        raise InvalidFacility("name", f"give a name of at most {NAME_LIMIT} characters")
    if kind not in FACILITY_KINDS:
        raise InvalidFacility("kind", f"unknown kind {kind!r}; one of: {', '.join(FACILITY_KINDS)}")
    if not district or len(district) > DISTRICT_LIMIT or CONTROL_CHARACTERS.search(district):
        raise InvalidFacility("district", f"give a district of at most {DISTRICT_LIMIT} characters")
