"""The hub desk under races: real HTTP requests at once, on SQLite and on a real PostgreSQL server.

Each race is run ``ROUNDS`` times on fresh consults and slots, so the two
requests meet in every order the server lets them. Whatever the order, there
is exactly one winner, and the database ends as the winner left it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant.db.models import Consult
from tests.backend.test_hub_api import (
    COORDINATOR,
    SECOND_COORDINATOR,
    Desk,
    add_slot,
    notices_of,
    open_desk,
    ref,
    waiting_consult,
)
from tests.support.backend import RunningBackend

ROUNDS = 10
Call = tuple[str, dict[str, Any], dict[str, str]]  # path, body, headers


@pytest.fixture(scope="module")
def desk(any_backend: RunningBackend) -> Desk:
    return open_desk(any_backend)


def at_once(desk: Desk, *calls: Call) -> list[tuple[int, dict[str, Any]]]:
    """POST every call at the same moment; each answer's status and body, in the calls' order."""

    async def run() -> list[tuple[int, dict[str, Any]]]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:

            async def one(path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
                async with session.post(desk.url(path), json=body, headers=headers) as response:
                    return response.status, await response.json()

            return list(await asyncio.gather(*(one(*call) for call in calls)))

    return asyncio.run(run())


def consult_row(desk: Desk, consult_id: int) -> Consult:
    with Session(desk.backend.db) as session:
        return session.execute(select(Consult).where(Consult.id == consult_id)).unique().scalar_one()


def test_two_coordinators_assigning_one_consult_make_one_booking_and_one_notice(desk: Desk) -> None:
    for _ in range(ROUNDS):
        consult_id = waiting_consult(desk.backend, ref())
        slots = [add_slot(desk.backend, desk.specialists[login]) for login in ("HT-S1", "HT-S2")]
        answers = at_once(
            desk,
            *(
                (f"/consults/{consult_id}/assign", {"slot_id": slot.id}, desk.headers(person))
                for slot, person in zip(slots, (COORDINATOR, SECOND_COORDINATOR), strict=True)
            ),
        )
        assert sorted(status for status, _ in answers) == [200, 409], answers
        [(_, winner)] = [(status, body) for status, body in answers if status == 200]
        [(_, loser)] = [(status, body) for status, body in answers if status == 409]
        assert loser["error"]["code"] == "conflict"
        row = consult_row(desk, consult_id)
        assert (row.status, row.slot_id) == ("scheduled", winner_slot(winner, slots))
        assert [notice.event for notice in notices_of(desk.backend, consult_id)] == ["scheduled"]


def winner_slot(winner: dict[str, Any], slots: list[Any]) -> int:
    [slot_id] = [slot.id for slot in slots if slot.specialist_id == winner["specialist"]["id"]]
    return int(slot_id)


def test_two_consults_racing_for_one_slot_leave_it_held_once(desk: Desk) -> None:
    for _ in range(ROUNDS):
        consults = [waiting_consult(desk.backend, ref()) for _ in range(2)]
        slot = add_slot(desk.backend, desk.specialists["HT-S1"])
        answers = at_once(
            desk,
            *(
                (f"/consults/{consult_id}/assign", {"slot_id": slot.id}, desk.headers(person))
                for consult_id, person in zip(consults, (COORDINATOR, SECOND_COORDINATOR), strict=True)
            ),
        )
        assert sorted(status for status, _ in answers) == [200, 409], answers
        rows = [consult_row(desk, consult_id) for consult_id in consults]
        assert sorted(row.status for row in rows) == ["requested", "scheduled"]
        assert [row.slot_id for row in rows if row.status == "scheduled"] == [slot.id]
        assert sum(len(notices_of(desk.backend, consult_id)) for consult_id in consults) == 1


def test_an_assign_racing_the_workers_cancel_has_one_winner(desk: Desk) -> None:
    for round_number in range(ROUNDS):
        consult_id = waiting_consult(desk.backend, ref())
        slot = add_slot(desk.backend, desk.specialists["HT-S1"])
        calls = [
            (f"/consults/{consult_id}/assign", {"slot_id": slot.id}, desk.headers(COORDINATOR)),
            (f"/consults/{consult_id}/cancel", {}, desk.worker("W001")),
        ]
        # Sent in turn in either order: SQLite takes writers first come, first served.
        order = 1 if round_number % 2 else -1
        answers = dict(zip(("assign", "cancel")[::order], at_once(desk, *calls[::order]), strict=True))
        (assigned, _), (cancelled, refusal) = answers["assign"], answers["cancel"]
        assert sorted((assigned, cancelled)) == [200, 409], answers
        row = consult_row(desk, consult_id)
        notices = notices_of(desk.backend, consult_id)
        if assigned == 200:
            # The worker's cancel lost, and its answer told them the news (so it is not told twice).
            assert (row.status, row.slot_id) == ("scheduled", slot.id)
            assert [(notice.event, notice.delivered_via) for notice in notices] == [("scheduled", "api")]
            assert [notice["id"] for notice in refusal["error"]["notices"]] == [notices[0].id]
        else:
            assert (row.status, row.slot_id, row.cancelled_by) == ("cancelled", None, "W001")
            assert notices == []
