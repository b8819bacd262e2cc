"""Which conversations a viewer may read: those of workers in their facilities (all, for an admin).

A specialist has no facilities here: they may read only a conversation in
which a worker asked for a consult that is now assigned to them (and not
cancelled), the least that lets them prepare for the call.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from assistant.console import directory, hub_desk, tracker, transcript
from assistant.console.access import Viewer, viewer
from assistant.console.app_state import DB, TRACKER
from assistant.console.directory import WorkerInfo


class NotVisible(web.HTTPNotFound):
    """Outside the viewer's facilities looks exactly like absent: nothing about it leaks."""

    def __init__(self, what: str) -> None:
        super().__init__(text=f"No such {what} in your facilities.")


@dataclass(frozen=True)
class Scope:
    senders: list[str] | None  # None: no restriction (an admin without filters)
    people: dict[str, WorkerInfo]


async def senders(request: web.Request, worker: str | None, facility: str | None) -> Scope:
    who = viewer(request)
    db = request.app[DB]
    facility_ids = None
    if facility:
        if not who.can_see(facility):
            raise NotVisible("facility")
        facility_ids = await directory.subtree(db, facility)
    people = await directory.workers(db, who, facility_ids)
    if worker:
        if worker not in people:
            raise NotVisible("worker")
        return Scope([worker], people)
    if who.is_admin and facility_ids is None:
        return Scope(None, people)
    return Scope(list(people), people)


async def visible_worker(request: web.Request, sender_id: str) -> WorkerInfo | None:
    """The conversation's worker, if the viewer may read it (admins also read unknown senders)."""
    who: Viewer = viewer(request)
    person = await directory.worker(request.app[DB], sender_id)
    if person is None:
        if who.is_admin:
            return None
        raise NotVisible("conversation")
    if not who.can_see(person.facility_id):
        raise NotVisible("conversation")
    return person


async def conversation(request: web.Request, conversation_id: int) -> tuple[transcript.Conversation, WorkerInfo | None]:
    if not await tracker.ready(request.app):
        raise NotVisible("conversation")
    who = viewer(request)
    async with request.app[TRACKER].read() as session:
        sender = await transcript.sender_of(session, conversation_id)
        if sender is None:
            raise NotVisible("conversation")
        # Everyone else is checked before the transcript is read; a specialist's check needs its times.
        person = None if who.is_specialist else await visible_worker(request, sender)
        loaded = await transcript.load(session, conversation_id)
    if loaded is None:
        raise NotVisible("conversation")
    if who.is_specialist:
        person = await _assigned_worker(request, who, loaded)
    return loaded, person


async def _assigned_worker(request: web.Request, who: Viewer, loaded: transcript.Conversation) -> WorkerInfo | None:
    if who.specialist_id is None:
        raise NotVisible("conversation")
    async with request.app[DB].read() as session:
        allowed = await hub_desk.assigned_in(
            session, who.specialist_id, loaded.sender_id, loaded.started_at, loaded.end_ts
        )
    if not allowed:
        raise NotVisible("conversation")
    return await directory.worker(request.app[DB], loaded.sender_id)
