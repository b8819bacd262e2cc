"""Pages: the conversation list, one transcript, and its JSON/CSV exports."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from sqlalchemy import select

from assistant.console import audit, conversations, directory, exports, params, scope, tracker
from assistant.console.access import viewer
from assistant.console.app_state import DB, SETTINGS, TRACKER
from assistant.console.rendering import render
from assistant.console.transcript import Conversation
from assistant.core.config import Settings
from assistant.core.vocabulary import CHANNELS
from assistant.db.console_tables import FLAG_REASONS, Flag, Review
from assistant.db.models import Consult, Encounter


async def _review_state(request: web.Request, ids: list[int]) -> tuple[dict[int, Review], dict[int, int]]:
    if not ids:
        return {}, {}
    async with request.app[DB].read() as session:
        reviews = (await session.execute(select(Review).where(Review.conversation_id.in_(ids)))).scalars().all()
        flags = (
            (await session.execute(select(Flag.conversation_id).where(Flag.conversation_id.in_(ids)))).scalars().all()
        )
    counts: dict[int, int] = {}
    for conversation_id in flags:
        counts[conversation_id] = counts.get(conversation_id, 0) + 1
    return {review.conversation_id: review for review in reviews}, counts


async def conversation_list(request: web.Request) -> web.Response:
    settings: Settings = request.app[SETTINGS]
    who = viewer(request)
    chosen = params.filters(request.query)
    older, newer = params.cursor(request.query, "older"), params.cursor(request.query, "newer")
    visible = await scope.senders(request, chosen.worker, chosen.facility)
    since, until = params.day_bounds(chosen.date_from, chosen.date_to, settings.timezone)
    db = request.app[DB]
    pairs = {
        kind: await directory.record_times(db, who, directory.RECORD_MODELS[kind], visible.senders, since, None)
        for kind in chosen.record_kinds
    }
    await audit.record(request, "view_conversation_list", json.dumps(chosen.as_query(), sort_keys=True)[:200])
    if not await tracker.ready(request.app):
        page = conversations.Page([], None, None, 0, False)  # Rasa has not created its table yet
    else:
        async with request.app[TRACKER].read() as session:
            page = await conversations.list_page(
                session,
                visible.senders,
                chosen,
                since=since,
                until=until,
                threshold=settings.console_low_confidence,
                record_pairs=pairs,
                older_than=older,
                newer_than=newer,
            )
    senders = sorted({row.sender_id for row in page.rows})
    since_page = min((row.started_at for row in page.rows), default=0.0)
    records = {
        kind: conversations.assign_records(page.rows, await directory.records_for(db, who, model, senders, since_page))
        for kind, model in directory.RECORD_MODELS.items()
    }
    reviews, flag_counts = await _review_state(request, [row.id for row in page.rows])
    return render(
        request,
        "conversations.html",
        page=page,
        filters=chosen,
        query=chosen.as_query(),
        people=visible.people,
        facilities=await directory.facilities(db, who),
        channels=CHANNELS,
        records=records,
        reviews=reviews,
        flag_counts=flag_counts,
    )


async def _records_of(request: web.Request, conversation: Conversation) -> tuple[list[Any], list[Any]]:
    db = request.app[DB]
    found = []
    for model in (Consult, Encounter):
        candidates = await directory.records_for(
            db, viewer(request), model, [conversation.sender_id], conversation.started_at
        )
        end = conversation.end_ts or conversations.FAR_FUTURE
        found.append([item for item in candidates if item.created_at.timestamp() < end])
    return found[0], found[1]


async def _flags_and_review(request: web.Request, conversation_id: int) -> tuple[list[Flag], Review | None]:
    async with request.app[DB].read() as session:
        flags = (
            (await session.execute(select(Flag).where(Flag.conversation_id == conversation_id).order_by(Flag.id)))
            .scalars()
            .all()
        )
        review = await session.get(Review, conversation_id)
    return list(flags), review


async def conversation_page(request: web.Request) -> web.Response:
    conversation_id = params.path_id(request)
    conversation, person = await scope.conversation(request, conversation_id)
    await audit.record(request, "view_conversation", f"conversation {conversation_id}")
    consults, encounters = await _records_of(request, conversation)
    flags, review = await _flags_and_review(request, conversation_id)
    flags_by_event: dict[int, list[Flag]] = {}
    for flag in flags:
        flags_by_event.setdefault(flag.event_id, []).append(flag)
    return render(
        request,
        "conversation.html",
        conversation=conversation,
        person=person,
        consults=consults,
        encounters=encounters,
        flags_by_event=flags_by_event,
        review=review,
        reasons=FLAG_REASONS,
        threshold=request.app[SETTINGS].console_low_confidence,
        example_markup=exports.example_markup,
    )


async def conversation_export(request: web.Request) -> web.Response:
    conversation_id = params.path_id(request)
    kind = request.match_info["format"]
    conversation, person = await scope.conversation(request, conversation_id)
    await audit.record(request, f"export_conversation_{kind}", f"conversation {conversation_id}")
    filename = f"conversation-{conversation_id}.{kind}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if kind == "csv":
        return web.Response(
            text=exports.conversation_csv(conversation), content_type="text/csv", charset="utf-8", headers=headers
        )
    consults, encounters = await _records_of(request, conversation)
    flags, review = await _flags_and_review(request, conversation_id)
    reviewed = (
        None if review is None else {"by": review.reviewed_by, "at": exports.when(review.reviewed_at.timestamp())}
    )
    worker = None if person is None else {"id": person.id, "name": person.name, "facility_id": person.facility_id}
    body = exports.conversation_json(conversation, worker, consults, encounters, flags, reviewed)
    return web.json_response(body, headers=headers, dumps=lambda value: json.dumps(value, ensure_ascii=False, indent=2))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/conversations", conversation_list)
    app.router.add_get("/conversations/{id}", conversation_page)
    app.router.add_get(r"/conversations/{id}/export.{format:json|csv}", conversation_export)
