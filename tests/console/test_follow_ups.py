"""Supervisors and the hub see the follow-up loop (issue 28): the Follow-ups page, and the day list's follow-ups."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.console.conftest import console_over
from tests.console.test_hub_desk import (
    COORDINATOR,
    SPECIALIST,
    ZONE,
    HubWorld,
    assign,
    booked,
    build_hub_world,
    signed_in,
)

TASK_ROW = re.compile(r'<tr class="task" id="task-(\d+)" data-task="\d+" data-state="(\w+)" data-overdue="(\w+)"')


@pytest.fixture(scope="module")
def follow_world(tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path) -> Iterator[tuple[HubWorld, Any]]:
    hub = build_hub_world(tmp_path_factory.mktemp("follow-ups"))
    with console_over(hub.world, artifacts_dir) as (_, console):
        yield hub, console


def today() -> dt.date:
    return dt.datetime.now(ZONE).date()


def add_task(hub: HubWorld, worker: str, facility: str, patient: str, due: dt.date, state: str = "open") -> int:
    with hub.world.backend.begin() as connection:
        return int(
            connection.execute(
                text(
                    "INSERT INTO tasks (what, patient_ref, due_on, worker_id, facility_id, state, channel, created_by,"
                    " created_at, updated_at, reminded_count) VALUES ('recheck BP', :p, :d, :w, :f, :s, 'web', :w,"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 0) RETURNING id"
                ),
                {"p": patient, "d": due, "w": worker, "f": facility, "s": state},
            ).scalar_one()
        )


def shown(page: str) -> dict[int, tuple[str, str]]:
    return {int(task): (state, overdue) for task, state, overdue in TASK_ROW.findall(page)}


def test_a_supervisor_sees_open_overdue_and_done_follow_ups_of_their_facilities_only(
    follow_world: tuple[HubWorld, Any],
) -> None:
    hub, console = follow_world
    late = add_task(hub, "W001", "hwc-ajari", "71001", today() - dt.timedelta(days=3))
    due = add_task(hub, "W003", "chc-pindwara", "71002", today() + dt.timedelta(days=1))
    closed = add_task(hub, "W003", "chc-pindwara", "71003", today(), state="done")
    elsewhere = add_task(hub, "W002", "sc-abu-road", "71004", today() - dt.timedelta(days=1))

    block = signed_in(console, "S002")  # chc-pindwara block: W001 and W003, not W002 (Abu Road)
    page = block.get("/follow-ups")
    assert page.status_code == 200, page.text
    open_ones = shown(page.text)
    assert open_ones == {late: ("open", "yes"), due: ("open", "no")}  # overdue first
    assert list(open_ones) == [late, due]
    assert "71004" not in page.text and "71003" not in page.text
    assert 'data-worker="W001" data-open="1" data-overdue="1" data-done="0"' in page.text
    assert 'data-worker="W003" data-open="1" data-overdue="0" data-done="1"' in page.text
    assert 'data-worker="W002"' not in page.text
    assert shown(block.get("/follow-ups?state=done").text) == {closed: ("done", "no")}
    assert set(shown(block.get("/follow-ups?worker=W003").text)) == {due}
    assert block.get("/follow-ups?facility=sc-abu-road").status_code == 404
    assert block.get("/follow-ups?worker=W002").status_code == 404
    assert block.get("/follow-ups?state=lost").status_code == 400
    targets = hub.query("SELECT target FROM console_audit WHERE actor = 'S002' AND action = 'view_follow_ups'")
    assert targets and targets[0].target.startswith("open 2 tasks, 1 overdue")

    district = signed_in(console, "S001")  # the whole district
    assert {late, due, elsewhere} <= set(shown(district.get("/follow-ups").text))
    # The hub's people have the desk, not this page.
    assert signed_in(console, COORDINATOR).get("/follow-ups").status_code == 403


def test_the_specialists_day_list_shows_whether_their_consults_follow_ups_were_done(
    follow_world: tuple[HubWorld, Any],
) -> None:
    hub, console = follow_world
    desk = signed_in(console, COORDINATOR)
    mine = hub.consults["for_specialist"]
    assert assign(desk, mine, hub.take_slot(SPECIALIST)).status_code == 303
    specialist = signed_in(console, SPECIALIST)
    day = f"/hub?date={hub.day.isoformat()}"
    assert mine in booked(specialist.get(day).text)
    form = {"advice": "Start aspirin 75 mg", "follow_up_task_1": "recheck BP", "follow_up_days_1": "2"}
    assert specialist.post(f"/hub/consults/{mine}/complete", form).status_code == 303

    page = specialist.get(day).text
    assert 'data-follow-ups="open"' in page and "recheck BP" in page and "1 open" in page
    with hub.world.backend.begin() as connection:
        connection.execute(text("UPDATE tasks SET state = 'done' WHERE consult_id = :c"), {"c": mine})
    page = specialist.get(day).text
    assert 'data-follow-ups="done"' in page and "all done" in page
    assert hub.audit(SPECIALIST, "hub_day_list_view")
