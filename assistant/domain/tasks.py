"""Follow-up tasks (issue 28): a specialist's advice becomes the worker's task, and the worker closes it.

A task is for one patient, owned by one worker, due on a local date. It is
made when a specialist completes a consult with follow-ups (for the consult's
patient and requesting worker, in the transaction that completes it), or by
the worker themselves. It moves ``open -> done | cancelled`` by one
conditional UPDATE, so a done racing a cancel has one winner; overdue means
open and past due. The backend's API, the console and the reminder job
(``assistant.domain.task_reminders``) all go through here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from assistant.core.rules import CONTROL_CHARACTERS, MAX_FOLLOW_UPS, TASK_DAYS_AHEAD, TASK_TEXT_LIMIT
from assistant.db.models import Checklist, Consult, Encounter, Task
from assistant.domain import hub_operations
from assistant.domain.hub_operations import HubActor, HubError
from assistant.domain.records import iso


@dataclass(frozen=True)
class FollowUp:
    """A task as asked for: what, due when (a date, or in so many days), and perhaps the checklist it needs."""

    what: str
    due: dt.date | None = None
    in_days: int | None = None
    checklist: str | None = None

    def said(self, field: str = "task") -> str:
        """What to do, trimmed; refused blank, too long or with control characters (the API checks it first)."""
        text = self.what.strip()
        if not text:
            raise HubError("invalid", "Say what the follow-up is.", field)
        if len(text) > TASK_TEXT_LIMIT or CONTROL_CHARACTERS.search(text):
            raise HubError("invalid", f"A follow-up is at most {TASK_TEXT_LIMIT} characters of plain text.", field)
        return text

    def due_on(self, today: dt.date, field: str = "due") -> dt.date:
        """The local date it falls due; refused when it names neither or both, is past, or is too far ahead."""
        if (self.due is None) == (self.in_days is None):
            raise HubError("invalid", "Give the follow-up either due (YYYY-MM-DD) or in_days, one of them.", field)
        day = self.due if self.due is not None else today + dt.timedelta(days=self.in_days or 0)
        if day < today:
            raise HubError("invalid", f"A follow-up cannot fall due in the past (today is {today}).", field)
        if day > today + dt.timedelta(days=TASK_DAYS_AHEAD):
            raise HubError("invalid", f"A follow-up falls due at most {TASK_DAYS_AHEAD} days ahead.", field)
        return day


@dataclass(frozen=True)
class Owner:
    """Whose task it is, for which patient, and where they are told of it."""

    worker_id: str
    facility_id: str
    patient_ref: str
    channel: str
    consult_id: int | None = None


def task_json(task: Task, today: dt.date) -> dict[str, Any]:
    overdue = task.state == "open" and task.due_on < today
    return {
        "id": task.id,
        "task": task.what,
        "patient_ref": task.patient_ref,
        "due": task.due_on.isoformat(),
        "state": task.state,
        "overdue": overdue,
        "days_overdue": (today - task.due_on).days if overdue else 0,
        "consult_id": task.consult_id,
        "checklist": task.checklist,
        "worker_id": task.worker_id,
        "facility_id": task.facility_id,
        "channel": task.channel,
        "created_by": task.created_by,
        "created_at": iso(task.created_at),
        "closed_by": task.closed_by,
        "done_at": iso(task.done_at),
        "cancelled_at": iso(task.cancelled_at),
        "encounter_id": task.encounter_id,
        "reminded_count": task.reminded_count,
        "last_reminded_on": task.last_reminded_on.isoformat() if task.last_reminded_on else None,
    }


async def _known_checklist(session: AsyncSession, slug: str | None, field: str) -> None:
    if slug is not None and await session.get(Checklist, slug) is None:
        raise HubError("invalid", "No such checklist.", field)


async def add(
    session: AsyncSession,
    owner: Owner,
    follow_ups: Sequence[FollowUp],
    *,
    by: str,
    today: dt.date,
    listed: bool = True,
) -> list[Task]:
    """Open a task for each follow-up, in the caller's transaction.

    ``listed``: they came as the ``follow_ups`` list of a completion, so a
    refusal names ``follow_ups[N].due``; otherwise it names ``due`` alone.
    """
    if len(follow_ups) > MAX_FOLLOW_UPS:
        raise HubError("invalid", f"At most {MAX_FOLLOW_UPS} follow-ups at once.", "follow_ups")
    made = []
    for number, follow_up in enumerate(follow_ups):

        def named(name: str, number: int = number) -> str:
            return f"follow_ups[{number}].{name}" if listed else name

        await _known_checklist(session, follow_up.checklist, named("checklist"))
        task = Task(
            what=follow_up.said(named("task")),
            patient_ref=owner.patient_ref,
            due_on=follow_up.due_on(today, named("due")),
            consult_id=owner.consult_id,
            checklist=follow_up.checklist,
            worker_id=owner.worker_id,
            facility_id=owner.facility_id,
            state="open",
            channel=owner.channel,
            created_by=by,
            reminded_count=0,
        )
        session.add(task)
        made.append(task)
    await session.flush()
    return made


def of_consult(consult: Consult) -> Owner:
    """A completed consult's follow-ups are the requesting worker's, for its patient, told where they asked."""
    return Owner(consult.requested_by, consult.facility_id, consult.patient_ref, consult.channel, consult.id)


# Overdue first (the oldest due first), then by due date; a task's id keeps the order stable.
_OVERDUE_FIRST = (Task.due_on, Task.id)


def listing(
    *,
    worker_id: str | None = None,
    facilities: frozenset[str] | None = None,
    state: str | None = "open",
    due_by: dt.date | None = None,
) -> Select:
    """Tasks narrowed to one worker, a set of facilities (``None``: all), a state, and those due by a date."""
    query = select(Task).order_by(*_OVERDUE_FIRST)
    if worker_id is not None:
        query = query.where(Task.worker_id == worker_id)
    if facilities is not None:
        query = query.where(Task.facility_id.in_(facilities))
    if state is not None:
        query = query.where(Task.state == state)
    if due_by is not None:
        query = query.where(Task.due_on <= due_by)
    return query


async def tasks_of(session: AsyncSession, query: Select, limit: int) -> list[Task]:
    return list((await session.execute(query.limit(limit))).scalars())


async def _linkable(session: AsyncSession, task: Task, encounter_id: int) -> None:
    """The visit a done task links to: the owner's own encounter of the same patient."""
    encounter: Encounter | None = await session.get(Encounter, encounter_id)
    if encounter is None or encounter.worker_id != task.worker_id:
        raise HubError("invalid", "No such encounter of yours.", "encounter_id")
    if encounter.patient_ref != task.patient_ref:
        raise HubError("invalid", f"That encounter is of another patient, not {task.patient_ref}.", "encounter_id")


async def close(
    session: AsyncSession,
    task: Task,
    state: str,
    *,
    by: str,
    now: dt.datetime,
    encounter_id: int | None = None,
) -> Task:
    """Mark an open task ``done`` (linking the visit, if named) or ``cancelled``; one UPDATE, only while open."""
    if encounter_id is not None:
        await _linkable(session, task, encounter_id)
    values: dict[str, Any] = {"state": state, "closed_by": by, "updated_at": now}
    values.update({"done_at": now, "encounter_id": encounter_id} if state == "done" else {"cancelled_at": now})
    result = await session.execute(
        update(Task)
        .where(Task.id == task.id, Task.state == "open")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(task)
    if result.rowcount != 1:
        raise HubError("conflict", f"Task {task.id} is {task.state}; only an open task can be closed.")
    return task


# --- What the hub and the supervisors see -------------------------------------------------

# How a consult's follow-ups stand, for the specialist's day list: all done, some still open, none asked.
FOLLOW_UPS_DONE, FOLLOW_UPS_OPEN, FOLLOW_UPS_OVERDUE = "done", "open", "overdue"


async def follow_ups_of(session: AsyncSession, consult_ids: Sequence[int], today: dt.date) -> dict[int, dict[str, Any]]:
    """Per consult, its follow-ups' counts by state and whether any is overdue (none asked: not in the answer)."""
    if not consult_ids:
        return {}
    overdue = case((Task.due_on < today, 1), else_=0)
    rows = (
        await session.execute(
            select(Task.consult_id, Task.state, overdue, Task.what, Task.due_on).where(Task.consult_id.in_(consult_ids))
        )
    ).all()
    found: dict[int, dict[str, Any]] = {}
    for consult_id, state, late, what, due_on in rows:
        entry = found.setdefault(consult_id, {"done": 0, "open": 0, "overdue": 0, "cancelled": 0, "tasks": []})
        entry[state] += 1
        if state == "open" and late:
            entry["overdue"] += 1
        entry["tasks"].append({"task": what, "due": due_on.isoformat(), "state": state})
    for entry in found.values():
        entry["status"] = (
            FOLLOW_UPS_OVERDUE if entry["overdue"] else FOLLOW_UPS_OPEN if entry["open"] else FOLLOW_UPS_DONE
        )
    return found


@dataclass(frozen=True)
class Standing:
    """How one worker's follow-ups stand: open (of them overdue), done, cancelled."""

    facility_id: str
    worker_id: str
    open: int
    overdue: int
    done: int
    cancelled: int


async def standing(session: AsyncSession, facilities: frozenset[str] | None, today: dt.date) -> list[Standing]:
    """Per facility and worker (``facilities``: those only; ``None``: all), their tasks' counts by state."""

    def counted(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    query = (
        select(
            Task.facility_id,
            Task.worker_id,
            counted(Task.state == "open"),
            counted((Task.state == "open") & (Task.due_on < today)),
            counted(Task.state == "done"),
            counted(Task.state == "cancelled"),
        )
        .group_by(Task.facility_id, Task.worker_id)
        .order_by(Task.facility_id, Task.worker_id)
    )
    if facilities is not None:
        query = query.where(Task.facility_id.in_(facilities))
    return [Standing(*(row[:2]), *(int(n or 0) for n in row[2:])) for row in (await session.execute(query)).all()]


async def complete_consult(
    session: AsyncSession,
    actor: HubActor,
    consult_id: int,
    advice: str,
    follow_up: str | None,
    follow_ups: Sequence[FollowUp],
    *,
    now: dt.datetime,
    today: dt.date,
    timezone: str,
) -> dict[str, Any]:
    """Complete a consult with the specialist's advice, and open its follow-ups, in one transaction.

    The follow-ups are the requesting worker's, for the consult's patient; a
    refused follow-up refuses the whole completion (the transaction rolls back).
    """
    completed = await hub_operations.complete(session, actor, consult_id, advice, follow_up, now, timezone)
    consult: Consult | None = await session.get(Consult, consult_id)
    assert consult is not None  # just completed in this transaction
    made = await add(session, of_consult(consult), follow_ups, by=actor.worker_id, today=today)
    return {**completed, "follow_ups": [task_json(task, today) for task in made]}
