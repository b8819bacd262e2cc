"""Whether a database is a real programme's (``assistant init``) or may hold the demo.

``assistant init`` starts a programme in an empty database: the checklists,
the state's first hub and its first admin, and the ``programme`` row that
marks it real. From then on the demo's fictional facilities, people and
specialists are never loaded into it (``refuse_demo``): a fictional
specialist must never take a real district's bookings.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.db.models import Facility, Programme, Specialist, Worker
from assistant.domain.facilities import HUB, check_facility, refresh_hubs
from assistant.domain.people import add_worker


class RealProgramme(Exception):
    """The demo was asked for in a real programme's database."""


@dataclass(frozen=True)
class FirstHub:
    id: str
    name: str
    district: str


async def programme(session: AsyncSession) -> Programme | None:
    """The marker row, if ``assistant init`` made this database a real programme's."""
    return (await session.execute(select(Programme).where(Programme.id == 1))).scalar_one_or_none()


async def refuse_demo(session: AsyncSession) -> None:
    """``RealProgramme`` if the database is a real programme's: the demo is never mixed into it."""
    real = await programme(session)
    if real is not None:
        raise RealProgramme(
            f"this database is a real programme's (assistant init by {real.initialised_by} on "
            f"{real.initialised_at:%Y-%m-%d}): the demo's fictional people are never loaded into it. "
            "For the demo, use another data dir (--data-dir)."
        )


async def holdings(session: AsyncSession) -> dict[str, int]:
    """What the database holds already: facilities, people and specialists, by count (only those above none)."""
    counts = {
        "facilities": select(func.count(Facility.id)),
        "people": select(func.count(Worker.id)),
        "specialists": select(func.count(Specialist.id)),
    }
    found = {name: int((await session.execute(query)).scalar_one()) for name, query in counts.items()}
    return {name: count for name, count in found.items() if count}


async def start_programme(session: AsyncSession, hub: FirstHub, admin_id: str, admin_name: str, by: str) -> None:
    """Make an empty database a real programme's: its first hub, its first admin there, and the marker.

    ``ValueError`` says what is wrong (a database holding data already, an admin id or name that cannot be).
    """
    held = await holdings(session)
    if held or await programme(session) is not None:
        what = ", ".join(f"{count} {name}" for name, count in held.items()) or "a programme"
        raise ValueError(
            f"this database holds data already ({what}); assistant init starts a programme in an empty one. "
            "Choose a new data dir (--data-dir) or database (ASSISTANT_DB_URL)."
        )
    name, district = " ".join(hub.name.split()), " ".join(hub.district.split())
    check_facility(hub.id, name, HUB, district)
    session.add(Facility(id=hub.id, name=name, kind=HUB, district=district))
    await session.flush()
    await refresh_hubs(session)
    await add_worker(session, admin_id, admin_name, hub.id, role="admin")
    session.add(Programme(id=1, initialised_by=by[:64], first_admin=admin_id))
    await session.flush()
