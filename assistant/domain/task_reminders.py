"""Reminders of follow-up tasks, through the worker outbox, exactly once per reminder day.

On the morning a task falls due (local time, from ``TASK_REMINDER_HOUR``)
the backend's job writes a ``task_due`` notice for its worker into
``hub_notices``, which the channels deliver exactly once like the hub's news
(docs/contracts.md). An open task past due is reminded again every
``TASK_REMINDER_REPEAT_DAYS``, at most ``TASK_REMINDER_CAP`` times in all.

Why it never reminds twice: a reminder is one conditional UPDATE of the
task's bookkeeping (``reminded_count`` as read, +1; ``last_reminded_on``)
and the notice's INSERT, in one transaction. A second run of the job (a
restarted backend, a second backend process) finds the task reminded today
and passes it by; one racing it loses the UPDATE.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import and_, or_, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.core.clock import Clock
from assistant.core.rules import TASK_REMINDER_CAP, TASK_REMINDER_HOUR, TASK_REMINDER_REPEAT_DAYS
from assistant.db.engine import Database
from assistant.db.models import Consult, Encounter, HubNotice, Task

log = logging.getLogger(__name__)

EVENT = "task_due"
# A job's batch: tasks reminded per transaction (a district's morning is a few thousand).
BATCH = 200
# Where a notice goes when the worker was never heard on a channel: the next turn on any channel tells it.
NO_CHANNEL = "api"

_TEXTS: dict[str, dict[str, str]] = {
    "due": {
        "en": 'Reminder: {whose} for patient {patient} is due today: "{task}".',
        "hi": 'याद दिलाना: मरीज़ {patient} के लिए {whose} आज है: "{task}"।',
    },
    "overdue": {
        "en": 'Reminder: {whose} for patient {patient} was due {days} days ago: "{task}".',
        "hi": 'याद दिलाना: मरीज़ {patient} के लिए {whose} {days} दिन पहले था: "{task}"।',
    },
}
# The task is relayed as written, and as the words of whoever gave it.
_SPECIALISTS = {"en": "{doctor}'s follow-up", "hi": "{doctor} का बताया फ़ॉलो-अप"}
_OWN = {"en": "your follow-up", "hi": "आपका फ़ॉलो-अप"}


def reminder_text(task: Task, doctor: str | None, language: str, today: dt.date) -> str:
    late = (today - task.due_on).days
    whose = _SPECIALISTS[language].format(doctor=doctor) if doctor else _OWN[language]
    text = _TEXTS["overdue" if late > 0 else "due"][language]
    return text.format(whose=whose, patient=task.patient_ref, days=late, task=task.what)


def _owed(today: dt.date) -> object:
    """Open, due by today, not reminded too often yet, and not reminded within the repeat interval."""
    again = today - dt.timedelta(days=TASK_REMINDER_REPEAT_DAYS)
    return and_(
        Task.state == "open",
        Task.due_on <= today,
        Task.reminded_count < TASK_REMINDER_CAP,
        or_(Task.last_reminded_on.is_(None), Task.last_reminded_on <= again),
    )


async def last_channel(session: AsyncSession, worker_id: str) -> str | None:
    """The channel the worker was last heard on: their latest consult, encounter or task made through one."""
    heard = union_all(
        *(
            select(table.channel.label("channel"), table.created_at.label("at")).where(
                owner == worker_id, table.channel != NO_CHANNEL
            )
            for table, owner in (
                (Consult, Consult.requested_by),
                (Encounter, Encounter.worker_id),
                (Task, Task.created_by),
            )
        )
    ).subquery()
    found = (await session.execute(select(heard.c.channel).order_by(heard.c.at.desc()).limit(1))).scalar()
    return found if isinstance(found, str) else None


async def _remind(session: AsyncSession, task: Task, today: dt.date) -> bool:
    """Remind of one task: its bookkeeping and its notice, or nothing if another run got there first."""
    claimed = await session.execute(
        update(Task)
        .where(Task.id == task.id, Task.reminded_count == task.reminded_count, _owed(today))
        .values(reminded_count=task.reminded_count + 1, last_reminded_on=today)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return False
    consult = await session.get(Consult, task.consult_id) if task.consult_id is not None else None
    doctor = consult.specialist.name if consult is not None and consult.specialist is not None else None
    channel = await last_channel(session, task.worker_id) or (task.channel if task.channel else NO_CHANNEL)
    session.add(
        HubNotice(
            consult_id=task.consult_id,
            task_id=task.id,
            worker_id=task.worker_id,
            event=EVENT,
            channel=channel,
            text_en=reminder_text(task, doctor, "en", today),
            text_hi=reminder_text(task, doctor, "hi", today),
        )
    )
    await session.flush()
    return True


async def remind(session: AsyncSession, today: dt.date, limit: int = BATCH) -> int:
    """Remind of up to ``limit`` owed tasks in the caller's transaction; how many were reminded."""
    owed = (await session.execute(select(Task).where(_owed(today)).order_by(Task.id).limit(limit))).scalars().all()
    return sum([await _remind(session, task, today) for task in owed])


async def remind_due_tasks(db: Database, clock: Clock) -> int:
    """The backend's job: every reminder owed this morning, a batch per transaction; none before the hour."""
    now = clock.now()
    if clock.local(now).hour < TASK_REMINDER_HOUR:
        return 0
    today, total = clock.today(now), 0
    while True:
        async with db.write() as session:
            done = await remind(session, today)
        total += done
        if done < BATCH:
            break
    if total:
        log.info("reminded workers of %d follow-up task(s)", total)  # counts only: no patient or worker
    return total
