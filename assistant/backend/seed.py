"""Idempotent demo data: facilities, workers, specialists, 14 days of slots, checklists.

Running it again changes nothing except adding slots for days that have come
into the 14-day window, and refreshing checklist text from the YAML files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.core.db.engine import Database
from assistant.core.db.models import Checklist, ChecklistStep, Facility, Slot, Specialist, Worker, utcnow
from assistant.core.vocabulary import PROCEDURES, SPECIALTIES

SEED_DIR = Path(__file__).parent / "seed_data"
CHECKLIST_DIR = SEED_DIR / "checklists"


@dataclass
class SeedReport:
    facilities: int = 0
    workers: int = 0
    specialists: int = 0
    slots: int = 0
    checklists: int = 0

    def __str__(self) -> str:
        return (
            f"added {self.facilities} facilities, {self.workers} workers, {self.specialists} specialists, "
            f"{self.slots} slots; loaded {self.checklists} checklists"
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


async def _seed_people(session: AsyncSession, demo: dict[str, Any], report: SeedReport) -> None:
    # Parents first, so the foreign keys hold on PostgreSQL too.
    for entry in demo["facilities"]:
        if await session.get(Facility, entry["id"]) is None:
            session.add(
                Facility(
                    id=entry["id"],
                    name=entry["name"],
                    kind=entry["kind"],
                    district=entry["district"],
                    parent_id=entry.get("parent"),
                )
            )
            report.facilities += 1
            await session.flush()
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
    existing = set((await session.execute(select(Specialist.upn))).scalars())
    for entry in demo["specialists"]:
        if entry["specialty"] not in SPECIALTIES:
            raise ValueError(f"demo.yaml: unknown specialty {entry['specialty']!r}")
        if entry["upn"] not in existing:
            session.add(
                Specialist(
                    name=entry["name"],
                    specialty=entry["specialty"],
                    facility_id=entry["facility"],
                    upn=entry["upn"],
                    on_call=bool(entry.get("on_call", False)),
                )
            )
            report.specialists += 1
    await session.flush()


async def ensure_slots(session: AsyncSession, slot_plan: dict[str, Any], timezone: str, now: dt.datetime) -> int:
    """Make sure every specialist has slots for the next ``days_ahead`` days."""
    zone = ZoneInfo(timezone)
    length = dt.timedelta(minutes=int(slot_plan["minutes"]))
    today = now.astimezone(zone).date()
    times = [dt.time.fromisoformat(value) for value in slot_plan["times"]]
    wanted = [
        dt.datetime.combine(today + dt.timedelta(days=offset), at, tzinfo=zone).astimezone(dt.timezone.utc)
        for offset in range(int(slot_plan["days_ahead"]) + 1)
        for at in times
    ]
    wanted = [start for start in wanted if now <= start < now + dt.timedelta(days=int(slot_plan["days_ahead"]))]
    if not wanted:
        return 0
    existing = set(
        (await session.execute(select(Slot.specialist_id, Slot.starts_at).where(Slot.starts_at >= wanted[0]))).all()
    )
    added = 0
    for specialist_id in (await session.execute(select(Specialist.id))).scalars():
        for start in wanted:
            if (specialist_id, start) not in existing:
                session.add(Slot(specialist_id=specialist_id, starts_at=start, ends_at=start + length))
                added += 1
    await session.flush()
    return added


async def _load_checklists(session: AsyncSession) -> int:
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
    demo = load_demo()
    report = SeedReport()
    await db.create_schema()
    async with db.write() as session:
        await _seed_people(session, demo, report)
        report.slots = await ensure_slots(session, demo["slots"], timezone, now or utcnow())
        report.checklists = await _load_checklists(session)
    return report


async def is_seeded(db: Database) -> bool:
    await db.create_schema()
    async with db.read() as session:
        return bool((await session.execute(select(func.count(Facility.id)))).scalar_one())


async def top_up_slots(db: Database, timezone: str) -> int:
    async with db.write() as session:
        return await ensure_slots(session, load_demo()["slots"], timezone, utcnow())
