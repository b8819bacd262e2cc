"""Idempotent demo data: facilities, people, specialists with their logins and weekly hours, checklists.

The slots come from the weekly hours (``assistant.domain.slot_window``), as
every slot does. Running it again changes nothing except adding slots for days
that have come into the window, and refreshing checklist text from the YAML
files; a specialist who changed their hours keeps them.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.core.config import PROJECT_DIR
from assistant.core.rules import UPN
from assistant.core.vocabulary import PROCEDURES, SPECIALTIES
from assistant.db.engine import Database
from assistant.db.models import Availability, Checklist, ChecklistStep, Facility, Specialist, Worker, utcnow
from assistant.domain.facilities import refresh_hubs
from assistant.domain.programme import programme, refuse_demo
from assistant.domain.roster import ensure_login
from assistant.domain.slot_window import Hours, generate_slots, new_window, parse_hours, top_up_slots

log = logging.getLogger(__name__)

SEED_DIR = Path(__file__).parent / "seed_data"
# Clinical content lives on its own, where clinicians review it (clinical/README.md).
CHECKLIST_DIR = PROJECT_DIR / "clinical" / "checklists"


@dataclass
class SeedReport:
    facilities: int = 0
    workers: int = 0
    specialists: int = 0
    slots: int = 0
    hours: int = 0
    checklists: int = 0

    def __str__(self) -> str:
        return (
            f"added {self.facilities} facilities, {self.workers} workers, {self.specialists} specialists, "
            f"{self.slots} slots, {self.hours} weekly hours; loaded {self.checklists} checklists"
        )


def load_demo() -> dict[str, Any]:
    with (SEED_DIR / "demo.yaml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_checklist_files() -> list[dict[str, Any]]:
    """Every canonical procedure must have a checklist that cites its guideline."""
    checklists = []
    for slug in PROCEDURES:
        path = CHECKLIST_DIR / f"{slug}.yaml"
        if not path.is_file():
            raise FileNotFoundError(f"missing checklist {path}")
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        if data.get("slug") != slug or not data.get("source", {}).get("guideline") or not data.get("steps"):
            raise ValueError(f"{path}: needs slug {slug!r}, a source guideline and steps")
        checklists.append(data)
    return checklists


async def _seed_facilities(session: AsyncSession, demo: dict[str, Any], report: SeedReport) -> None:
    # Parents (and the hub) first, so the foreign keys hold on PostgreSQL too.
    for entry in demo["facilities"]:
        facility = await session.get(Facility, entry["id"])
        if facility is None:
            facility = Facility(
                id=entry["id"],
                name=entry["name"],
                kind=entry["kind"],
                district=entry["district"],
                parent_id=entry.get("parent"),
            )
            session.add(facility)
            report.facilities += 1
        if facility.hub_id is None:  # also for a database seeded before facilities had hubs
            facility.hub_id = entry.get("hub")
        await session.flush()
    await refresh_hubs(session)


async def _seed_people(session: AsyncSession, demo: dict[str, Any], report: SeedReport) -> None:
    await _seed_facilities(session, demo, report)
    for entry in demo["workers"]:
        if await session.get(Worker, entry["id"]) is None:
            session.add(
                Worker(
                    id=entry["id"],
                    name=entry["name"],
                    facility_id=entry["facility"],
                    role=entry["role"],
                    designation=entry.get("designation"),
                    phone=entry.get("phone"),
                )
            )
            report.workers += 1
    await session.flush()
    existing = {specialist.upn: specialist for specialist in (await session.execute(select(Specialist))).scalars()}
    for entry in demo["specialists"]:
        if entry["specialty"] not in SPECIALTIES:
            raise ValueError(f"demo.yaml: unknown specialty {entry['specialty']!r}")
        if not UPN.match(entry["upn"]):  # the roster import's rule: the upn goes into the call link
            raise ValueError(f"demo.yaml: {entry['upn']!r} is not a user principal name like a.b@hospital.in")
        specialist = existing.get(entry["upn"])
        if specialist is None:
            specialist = Specialist(
                name=entry["name"],
                specialty=entry["specialty"],
                facility_id=entry["facility"],
                upn=entry["upn"],
                on_call=bool(entry.get("on_call", False)),
            )
            session.add(specialist)
            await session.flush()
            report.specialists += 1
        if await ensure_login(session, entry["login"], specialist):
            report.workers += 1
    await session.flush()


def demo_hours(demo: dict[str, Any]) -> list[Hours]:
    """The demo's weekly hours, the same for every specialist."""
    plan = demo["weekly_hours"]
    return [
        parse_hours(day, window["start"], window["end"], plan["slot_minutes"])
        for day in plan["days"]
        for window in plan["windows"]
    ]


async def _seed_hours(session: AsyncSession, demo: dict[str, Any], report: SeedReport) -> None:
    """The demo's hours for each demo specialist who has none: hours a specialist changed are theirs."""
    hours = demo_hours(demo)
    upns = [entry["upn"] for entry in demo["specialists"]]
    with_hours = select(Availability.specialist_id)
    query = select(Specialist.id).where(Specialist.upn.in_(upns), Specialist.id.not_in(with_hours))
    for specialist_id in list((await session.execute(query)).scalars()):
        session.add_all(new_window(specialist_id, window, "seed") for window in hours)
        report.hours += len(hours)
    await session.flush()


async def load_checklists(session: AsyncSession) -> int:
    """The checklists from ``clinical/checklists``, added or refreshed: every programme has them, demo or real."""
    checklists = load_checklist_files()
    for data in checklists:
        source = data["source"]
        checklist = await session.get(Checklist, data["slug"])
        if checklist is None:
            checklist = Checklist(slug=data["slug"])
            session.add(checklist)
        checklist.title_en = data["title"]["en"]
        checklist.title_hi = data["title"]["hi"]
        checklist.source_guideline = source["guideline"]
        checklist.source_publisher = source.get("publisher", "")
        checklist.source_year = source.get("year")
        checklist.source_url = source.get("url")
        await session.flush()
        await session.execute(delete(ChecklistStep).where(ChecklistStep.checklist_slug == data["slug"]))
        session.add_all(
            ChecklistStep(
                checklist_slug=data["slug"],
                number=number,
                text_en=step["en"],
                text_hi=step["hi"],
                caution=bool(step.get("caution", False)),
            )
            for number, step in enumerate(data["steps"], start=1)
        )
    await session.flush()
    return len(checklists)


async def seed(db: Database, timezone: str = "Asia/Kolkata", now: dt.datetime | None = None) -> SeedReport:
    """The demo, loaded or brought up to date; ``RealProgramme`` in a real programme's database (``assistant init``)."""
    demo = load_demo()
    report = SeedReport()
    await db.migrate()
    async with db.write() as session:
        await refuse_demo(session)
        await _seed_people(session, demo, report)
        await _seed_hours(session, demo, report)
        report.slots = await generate_slots(session, timezone, now or utcnow())
        report.checklists = await load_checklists(session)
    return report


async def _demo_out_of_date(session: AsyncSession, demo: dict[str, Any]) -> bool:
    """Whether the demo lacks a facility, a hub link, a person or a specialist of this release's demo.

    Three small reads, so that an up-to-date demo starts as fast as before; the seed runs only when needed.
    """
    facilities = dict((await session.execute(select(Facility.id, Facility.hub_id))).all())
    if any(
        entry["id"] not in facilities or facilities[entry["id"]] != entry.get("hub") for entry in demo["facilities"]
    ):
        return True
    people = set((await session.execute(select(Worker.id))).scalars())
    logins = {entry["login"] for entry in demo["specialists"]}
    if not {entry["id"] for entry in demo["workers"]} | logins <= people:
        return True
    upns = set((await session.execute(select(Specialist.upn))).scalars())
    return not {entry["upn"] for entry in demo["specialists"]} <= upns


async def prepare_database(db: Database, timezone: str, *, demo: bool = True) -> None:
    """The database as the backend's server wants it before it listens (``assistant serve backend``).

    A demo's database (``demo``, and not a real programme's) gets the demo,
    loaded or brought up to date: the seed is idempotent, so a demo made by an
    earlier release gains what this one's demo has (its hubs, the second hub's
    people) and keeps every change made to it. A real programme's (``assistant
    init``) never gets the demo: its tables are brought up to date, and the
    days that came into the slot window while the backend was down get their
    slots before the first booking.
    """
    await db.migrate()
    async with db.read() as session:
        real = await programme(session) is not None
        outdated = demo and not real and await _demo_out_of_date(session, load_demo())
    if outdated:
        log.info("demo data loaded or brought up to date (%s)", await seed(db, timezone))
        return
    async with db.write() as session:
        await refresh_hubs(session)  # a database from before facilities and consults had their hub
    log.info("slots topped up: %d added", await top_up_slots(db, timezone))
