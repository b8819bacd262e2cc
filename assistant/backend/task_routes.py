"""HTTP handlers of follow-up tasks (issue 28): the worker's list, adding one, closing one, and its FHIR Task.

Who sees which: a worker their own; a supervisor, coordinator or admin those
of the facilities they see (``assistant.domain.scoping``). Only the owning
worker (or the assistant acting for them) adds, closes or cancels one. "Today"
is the clinic's local date by the backend's clock (``assistant.core.clock``).
The rules are ``assistant.domain.tasks``'s; every change goes through
``run_idempotent``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.backend.app_state import CLOCK, DB
from assistant.backend.auth import Principal, clinical_author, principal, record_channel
from assistant.backend.errors import ApiError, not_found
from assistant.backend.fields import Body, Day, Filter, Items, Parameter, Text, Whole, choice, record_id
from assistant.backend.idempotency import run_idempotent
from assistant.backend.listing import DEFAULT_PAGE, MAX_PAGE
from assistant.backend.validation import CHANNEL, PATIENT_REF, path_id, read_json_object
from assistant.core.rules import MAX_FOLLOW_UPS, TASK_DAYS_AHEAD, TASK_STATES, TASK_TEXT_LIMIT
from assistant.db.models import Consult, Task, utcnow
from assistant.domain import tasks
from assistant.domain.fhir import task_resource

# --- What the requests say (assistant.backend.fields: each checks and describes) -------------

TODAY = "today"
DUE = Parameter("query", choice("due", (TODAY,), description="today: only those due today or overdue (local date)"))
STATE = Parameter("query", choice("state", TASK_STATES, default="open"))
WORKER = Parameter("query", Filter("worker", description="Supervisors: one worker's tasks"))
PATIENT = Parameter("query", Filter("patient_ref"))
TASKS_LIMIT = Parameter("query", Whole("limit", 1, MAX_PAGE, default=DEFAULT_PAGE))
TASKS_QUERY = (DUE, STATE, WORKER, PATIENT, TASKS_LIMIT)

TASK_TEXT = Text("task", limit=TASK_TEXT_LIMIT, required=True, description="What to do, in the giver's words")
DUE_DATE = Day("due", description="The local date it falls due; or give in_days")
IN_DAYS = Whole("in_days", 0, TASK_DAYS_AHEAD, description="Due this many days from today (local); or give due")
CHECKLIST = Text("checklist", limit=64, description="The slug of a checklist the task needs (offered with it)")
FOLLOW_UP = Body(
    "FollowUp",
    TASK_TEXT,
    DUE_DATE,
    IN_DAYS,
    CHECKLIST,
    description="One follow-up task: due or in_days, one of them",
)
FOLLOW_UPS = Items(
    "follow_ups",
    item=FOLLOW_UP,
    limit=MAX_FOLLOW_UPS,
    description="Tasks for the consult's patient and requesting worker, made with the completion",
)
NEW_TASK = Body(
    "TaskRequest",
    TASK_TEXT,
    PATIENT_REF,
    DUE_DATE,
    IN_DAYS,
    CHECKLIST,
    CHANNEL,
    description="A task the worker adds for themselves: due or in_days, one of them",
)
DONE = Body(
    "TaskDoneRequest",
    record_id("encounter_id", description="The visit that did it: the worker's own encounter of the patient"),
)
CANCEL = Body("TaskCancelRequest")


def follow_up(said: dict[str, Any]) -> tasks.FollowUp:
    """A follow-up as ``FOLLOW_UP`` or ``NEW_TASK`` read it."""
    return tasks.FollowUp(said["task"], said["due"], said["in_days"], said["checklist"])


# --- Reading ------------------------------------------------------------------------


def _scope(who: Principal) -> dict[str, Any]:
    """A worker's own tasks; anyone else's by the facilities they see (a specialist sees none here)."""
    if who.own_records_only:
        return {"worker_id": who.worker_id}
    return {"facilities": who.visible_facilities}


async def list_tasks(request: web.Request) -> web.Response:
    """``GET /tasks``: open tasks (or ``state``), overdue first; ``due=today``: those due today or before."""
    who = principal(request)
    if who.role == "service" and who.acting_for is None:
        raise ApiError(403, "forbidden", "A service token lists a worker's tasks only when acting for them.")
    clock = request.app[CLOCK]
    today = clock.today()
    scope = _scope(who)
    named, patient = WORKER.read(request), PATIENT.read(request)
    query = tasks.listing(state=STATE.read(request), due_by=today if DUE.read(request) == TODAY else None, **scope)
    if named is not None:
        query = query.where(Task.worker_id == named)
    if patient is not None:
        query = query.where(Task.patient_ref == patient)
    limit = TASKS_LIMIT.read(request)
    async with request.app[DB].read() as session:
        total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
        found = await tasks.tasks_of(session, query, limit)
    items = [tasks.task_json(task, today) for task in found]
    return web.json_response({"items": items, "total": total, "today": today.isoformat()})


async def _visible_task(session: AsyncSession, who: Principal, task_id: int) -> Task:
    task: Task | None = await session.get(Task, task_id)
    if task is None or not who.can_see(task.facility_id, owner=task.worker_id) or who.role == "specialist":
        raise not_found("task")  # an invisible task looks exactly like a missing one
    return task


async def get_task(request: web.Request) -> web.Response:
    who, task_id = principal(request), path_id(request)
    async with request.app[DB].read() as session:
        task = await _visible_task(session, who, task_id)
    return web.json_response(tasks.task_json(task, request.app[CLOCK].today()))


async def get_task_fhir(request: web.Request) -> web.Response:
    who, task_id = principal(request), path_id(request)
    async with request.app[DB].read() as session:
        task = await _visible_task(session, who, task_id)
        resource = task_resource(task, await session.get(Consult, task.consult_id) if task.consult_id else None)
    return web.json_response(resource, content_type="application/fhir+json")


# --- Changing -----------------------------------------------------------------------


async def add_task(request: web.Request) -> web.Response:
    """``POST /tasks``: a worker adds a task for themselves (the assistant after a read-back, or an app)."""
    who = clinical_author(request)
    body = await read_json_object(request)
    said = NEW_TASK.parse(body)
    clock = request.app[CLOCK]

    async def operation(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        assert who.worker_id is not None and who.facility_id is not None  # clinical_author: a worker
        owner = tasks.Owner(who.worker_id, who.facility_id, said["patient_ref"], record_channel(who, said["channel"]))
        today = clock.today()
        [task] = await tasks.add(session, owner, [follow_up(said)], by=who.who, today=today, listed=False)
        await session.refresh(task)
        return 201, tasks.task_json(task, today)

    return await run_idempotent(request, body, operation)


def _closing(state: str, declared: Body) -> Any:
    """A handler that closes the caller's own open task as ``state`` (``done`` or ``cancelled``)."""

    async def handler(request: web.Request) -> web.Response:
        who = principal(request)
        task_id = path_id(request)
        body = await read_json_object(request, allow_empty=True)
        said = declared.parse(body)
        clock = request.app[CLOCK]

        async def operation(session: AsyncSession) -> tuple[int, dict[str, Any]]:
            task = await _visible_task(session, who, task_id)
            if task.worker_id != who.worker_id:
                raise ApiError(403, "forbidden", "Only the worker whose task it is may close it.")
            encounter = said.get("encounter_id")
            closed = await tasks.close(session, task, state, by=who.who, now=utcnow(), encounter_id=encounter)
            return 200, tasks.task_json(closed, clock.today())

        return await run_idempotent(request, body, operation)

    return handler


task_done = _closing("done", DONE)
task_cancel = _closing("cancelled", CANCEL)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/tasks", list_tasks)
    app.router.add_post("/tasks", add_task)
    app.router.add_get("/tasks/{id}", get_task)
    app.router.add_get("/tasks/{id}/fhir", get_task_fhir)
    app.router.add_post("/tasks/{id}/done", task_done)
    app.router.add_post("/tasks/{id}/cancel", task_cancel)
