"""Review tools: flag a turn, mark a conversation reviewed, list flags, export them as NLU data."""

from __future__ import annotations

import json

from aiohttp import web
from sqlalchemy import delete, select

from assistant.console import audit, directory, exports, params, scope
from assistant.console.access import viewer
from assistant.console.app_state import DB, TRACKER
from assistant.console.rendering import render
from assistant.console.tracker import events
from assistant.db.console_tables import FLAG_REASONS, Flag, Review

COMMENT_LIMIT = 2000
EXAMPLE_LIMIT = 500


def _text(form: dict, name: str, limit: int) -> str | None:
    value = str(form.get(name, "")).strip()
    if len(value) > limit:
        raise params.BadInput(f"{name} is too long (at most {limit} characters).")
    return value or None


async def flag_turn(request: web.Request) -> web.Response:
    conversation_id = params.path_id(request)
    conversation, _ = await scope.conversation(request, conversation_id)
    form = await params.form_fields(request)
    event_id = params.integer(form, "event_id", 0, 1, 2**62)
    turn = conversation.turn_for_event(event_id)
    if turn is None:
        raise params.BadInput("That turn is not part of this conversation.")
    reason = str(form.get("reason", ""))
    if reason not in FLAG_REASONS:
        raise params.BadInput(f"reason must be one of: {', '.join(FLAG_REASONS)}.")
    expected = params.identifier(form, "expected_intent")
    if expected and not exports.INTENT_NAME.match(expected):
        raise params.BadInput("expected_intent must be an intent name such as request_consult.")
    flag = Flag(
        conversation_id=conversation_id,
        sender_id=conversation.sender_id,
        event_id=event_id,
        reason=reason,
        comment=_text(form, "comment", COMMENT_LIMIT),
        expected_intent=expected,
        example=_text(form, "example", EXAMPLE_LIMIT),
        flagged_by=viewer(request).worker_id,
    )
    async with request.app[DB].write() as session:
        session.add(flag)
    await audit.record(request, "flag_turn", f"conversation {conversation_id} turn {turn.number}")
    raise web.HTTPSeeOther(f"/conversations/{conversation_id}#turn-{turn.number}")


async def mark_reviewed(request: web.Request) -> web.Response:
    conversation_id = params.path_id(request)
    conversation, _ = await scope.conversation(request, conversation_id)
    form = await params.form_fields(request)
    reviewed = str(form.get("reviewed", "1")) in params.TRUE_VALUES
    async with request.app[DB].write() as session:
        await session.execute(delete(Review).where(Review.conversation_id == conversation_id))
        if reviewed:
            session.add(
                Review(
                    conversation_id=conversation_id,
                    sender_id=conversation.sender_id,
                    reviewed_by=viewer(request).worker_id,
                )
            )
    await audit.record(request, "mark_reviewed" if reviewed else "mark_unreviewed", f"conversation {conversation_id}")
    raise web.HTTPSeeOther(f"/conversations/{conversation_id}")


async def _visible_flags(request: web.Request) -> list[tuple[Flag, str | None]]:
    """Flags on conversations the viewer may read, each with its turn's text from the tracker store."""
    who = viewer(request)
    query = select(Flag).order_by(Flag.id.desc())
    if who.visible_facilities is not None:
        people = await directory.workers(request.app[DB], who)
        query = query.where(Flag.sender_id.in_(list(people)))
    async with request.app[DB].read() as session:
        flags = list((await session.execute(query)).scalars().all())
    texts: dict[int, str | None] = {}
    if flags:
        async with request.app[TRACKER].read() as session:
            rows = await session.execute(
                select(events.c.id, events.c.data).where(events.c.id.in_([flag.event_id for flag in flags]))
            )
            texts = {event_id: json.loads(data).get("text") for event_id, data in rows}
    return [(flag, texts.get(flag.event_id)) for flag in flags]


async def flag_list(request: web.Request) -> web.Response:
    flags = await _visible_flags(request)
    await audit.record(request, "view_flags", f"{len(flags)} flags")
    return render(request, "flags.html", flags=flags, reasons=FLAG_REASONS)


async def flags_nlu_export(request: web.Request) -> web.Response:
    flags = await _visible_flags(request)
    await audit.record(request, "export_flags_nlu", f"{len(flags)} flags")
    return web.Response(
        text=exports.nlu_yaml(flags),
        content_type="application/x-yaml",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="flagged_nlu.yml"'},
    )


def add_routes(app: web.Application) -> None:
    app.router.add_post("/conversations/{id}/flags", flag_turn)
    app.router.add_post("/conversations/{id}/review", mark_reviewed)
    app.router.add_get("/flags", flag_list)
    app.router.add_get("/flags/nlu.yml", flags_nlu_export)
