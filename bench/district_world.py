"""A district-sized backend database: 5 hubs, 300 facilities, 2,000 people, 100 specialists with their slots.

The facilities form the tree a state runs: each hub (a medical college)
serves two districts; each district hospital names its hub and has five
blocks (a CHC or a PHC); the sub-centres and Health & Wellness Centres hang
under the blocks. The people are an admin, a coordinator per hub, a
supervisor per district and per block, a login per specialist, and field
workers (ASHAs, ANMs, CHOs) at the sub-centres. Specialists sit at the hubs,
the specialties in turn, with the demo's weekly hours cut into slots as every
slot is (``assistant.domain.slot_window``). Rows are written in bulk through
our own models, then ``refresh_hubs`` resolves which hub serves each facility,
as an import does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select

from assistant.backend.seed import demo_hours, load_demo
from assistant.core.vocabulary import SPECIALTIES
from assistant.db.engine import Database
from assistant.db.models import Availability, Facility, Specialist, Worker, utcnow
from assistant.domain.facilities import refresh_hubs
from assistant.domain.slot_window import generate_slots, new_window

HUBS = 5
DISTRICTS_PER_HUB = 2
BLOCKS_PER_DISTRICT = 5
FACILITIES = 300
PEOPLE = 2000
SPECIALISTS = 100
FIRST_NAMES = ("Sunita", "Meena", "Kavita", "Lalita", "Pushpa", "Rekha", "Santosh", "Geeta", "Radha", "Kamla")
LAST_NAMES = ("Devi", "Kumari", "Meena", "Gameti", "Garasia", "Rawat", "Bhil", "Choudhary", "Purohit", "Joshi")


@dataclass(frozen=True)
class DistrictPeople:
    """Who the bench acts as in the district (the demo's counterparts: W001, S001, S002, A001, H001)."""

    worker: str  # a field worker at a sub-centre of the first hub
    district_supervisor: str
    block_supervisor: str
    admin: str
    coordinator: str
    block: str  # the block supervisor's facility
    facilities: int
    people: int
    specialists: int
    slots: int


def _facility(facility_id: str, name: str, kind: str, district: str, **links: str | None) -> dict[str, Any]:
    return {
        "id": facility_id,
        "name": name,
        "kind": kind,
        "district": district,
        "hub_id": None,
        "parent_id": None,
        **links,
    }


def facility_tree() -> list[list[dict[str, Any]]]:
    """The facilities level by level (parents first, so every foreign key holds as rows arrive)."""
    hubs, hospitals, blocks = [], [], []
    for h in range(1, HUBS + 1):
        hub = f"hub-{h}"
        hubs.append(_facility(hub, f"Medical College {h} (hub)", "hub", f"Hub city {h}"))
        for d in range(1, DISTRICTS_PER_HUB + 1):
            district = f"District {h}-{d}"
            hospital = f"dh-{h}-{d}"
            hospitals.append(
                _facility(hospital, f"District Hospital {h}-{d}", "district_hospital", district, hub_id=hub)
            )
            for b in range(1, BLOCKS_PER_DISTRICT + 1):
                kind = "chc" if b % 2 else "phc"
                block = f"{kind}-{h}-{d}-{b}"
                blocks.append(_facility(block, f"{kind.upper()} {h}-{d}-{b}", kind, district, parent_id=hospital))
    outposts = []
    for n in range(FACILITIES - len(hubs) - len(hospitals) - len(blocks)):
        block = blocks[n % len(blocks)]
        kind = "hwc" if n % 3 == 0 else "sub_centre"
        name = f"{'Ayushman Arogya Mandir (HWC)' if kind == 'hwc' else 'Sub-centre'} {n + 1:03d}"
        outposts.append(_facility(f"{kind}-{n + 1:03d}", name, kind, block["district"], parent_id=block["id"]))
    return [hubs, hospitals, blocks, outposts]


def _person(worker_id: str, n: int, facility: str, role: str, designation: str, **extra: Any) -> dict[str, Any]:
    name = f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {LAST_NAMES[(n // len(FIRST_NAMES)) % len(LAST_NAMES)]}"
    return {
        "id": worker_id,
        "name": name,
        "facility_id": facility,
        "role": role,
        "designation": designation,
        "phone": None,
        "active": True,
        "specialist_id": None,
        **extra,
    }


def people(levels: Sequence[Sequence[dict[str, Any]]], specialist_ids: Sequence[int]) -> list[dict[str, Any]]:
    hubs, hospitals, blocks, outposts = levels
    rows = [_person("A0001", 0, hubs[0]["id"], "admin", "Admin")]
    rows += [_person(f"C{n + 1:03d}", n, hub["id"], "coordinator", "Hub coordinator") for n, hub in enumerate(hubs)]
    rows += [_person(f"SD{n + 1:03d}", n, f["id"], "supervisor", "District manager") for n, f in enumerate(hospitals)]
    rows += [_person(f"SB{n + 1:03d}", n, f["id"], "supervisor", "Block supervisor") for n, f in enumerate(blocks)]
    rows += [
        _person(f"SP{n + 1:03d}", n, hubs[n % len(hubs)]["id"], "specialist", "Specialist", specialist_id=specialist)
        for n, specialist in enumerate(specialist_ids)
    ]
    for n in range(PEOPLE - len(rows)):
        designation = ("ASHA", "ASHA", "ANM", "CHO")[n % 4]
        phone = f"+9197{n:08d}"
        rows.append(_person(f"W{n + 1:05d}", n, outposts[n % len(outposts)]["id"], "worker", designation, phone=phone))
    return rows


def specialists(hubs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    specialties = list(SPECIALTIES)
    return [
        {
            "name": f"Dr. Specialist {n + 1:03d}",
            "specialty": specialties[n % len(specialties)],
            "facility_id": hubs[n % len(hubs)]["id"],
            "upn": f"specialist{n + 1:03d}@hub{n % len(hubs) + 1}.example",
            "on_call": n < len(specialties) * len(hubs),  # one on call per specialty at each hub
        }
        for n in range(SPECIALISTS)
    ]


async def build_district(db: Database, timezone: str, now: dt.datetime | None = None) -> DistrictPeople:
    await db.migrate()
    levels = facility_tree()
    hours = demo_hours(load_demo())
    async with db.write() as session:
        for level in levels:
            await session.execute(insert(Facility), level)
        await session.execute(insert(Specialist), specialists(levels[0]))
        specialist_ids = list((await session.execute(select(Specialist.id).order_by(Specialist.id))).scalars())
        everyone = people(levels, specialist_ids)
        await session.execute(insert(Worker), everyone)
        windows = [new_window(specialist, window, "bench") for specialist in specialist_ids for window in hours]
        await session.execute(insert(Availability), [_columns(window) for window in windows])
        await refresh_hubs(session)
        slots = await generate_slots(session, timezone, now or utcnow())
    return DistrictPeople(
        # The first field worker is at the first outpost, under the first block of the first hub.
        worker=next(row["id"] for row in everyone if row["role"] == "worker"),
        district_supervisor="SD001",
        block_supervisor="SB001",
        admin="A0001",
        coordinator="C001",
        block=levels[2][0]["id"],
        facilities=sum(len(level) for level in levels),
        people=len(everyone),
        specialists=len(specialist_ids),
        slots=slots,
    )


def _columns(window: Availability) -> dict[str, Any]:
    """An unsaved model's column values, for a bulk insert (the defaults filled as the ORM would)."""
    values = {column.name: getattr(window, column.name) for column in Availability.__table__.columns}
    values.pop("id")
    values["created_at"] = values["created_at"] or utcnow()
    return values
