"""Read-only reference data: specialties and procedure checklists."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from assistant.backend.app_state import CHECKLISTS, DB
from assistant.backend.auth import principal
from assistant.backend.errors import unknown_value
from assistant.backend.fields import Filter, Parameter, choice
from assistant.core.cache import TTLCache
from assistant.core.vocabulary import LANGUAGES, SPECIALTIES
from assistant.db.models import Checklist, Facility, Specialist

# Checklists change only when `assistant seed` reloads them.
CHECKLIST_CACHE_SECONDS = 60.0
SLUG = Parameter("path", Filter("slug", description="The procedure (an unknown one is answered with the known ones)"))
LANG = Parameter("query", choice("lang", LANGUAGES, default="en", any_case=False))


def _source(checklist: Checklist) -> dict[str, Any]:
    return {
        "guideline": checklist.source_guideline,
        "publisher": checklist.source_publisher,
        "year": checklist.source_year,
        "url": checklist.source_url,
    }


async def list_specialties(request: web.Request) -> web.Response:
    """Every specialty, with how many specialists the caller's hub has (every hub's, for a caller of none)."""
    query = select(Specialist.specialty, func.count(Specialist.id)).group_by(Specialist.specialty)
    hub = principal(request).hub_id
    if hub is not None:
        query = query.join(Facility, Facility.id == Specialist.facility_id).where(Facility.served_by == hub)
    async with request.app[DB].read() as session:
        counts = dict((await session.execute(query)).all())
    items = [
        {"code": code, "name": names["en"], "name_hi": names["hi"], "specialists": counts.get(code, 0)}
        for code, names in SPECIALTIES.items()
    ]
    return web.json_response({"items": items})


async def list_checklists(request: web.Request) -> web.Response:
    async with request.app[DB].read() as session:
        checklists = (await session.execute(select(Checklist).order_by(Checklist.slug))).scalars().all()
        items = [
            {
                "slug": checklist.slug,
                "title": checklist.title_en,
                "title_hi": checklist.title_hi,
                "source": _source(checklist),
                "steps": len(checklist.steps),
            }
            for checklist in checklists
        ]
    return web.json_response({"items": items})


def checklist_cache() -> TTLCache[bytes]:
    return TTLCache(CHECKLIST_CACHE_SECONDS)


async def _checklist_body(request: web.Request, slug: str, lang: str) -> bytes:
    async with request.app[DB].read() as session:
        checklist = await session.get(Checklist, slug)
        if checklist is None:
            known = (await session.execute(select(Checklist.slug).order_by(Checklist.slug))).scalars().all()
            raise unknown_value("procedure", slug, known)
        hindi = lang == "hi"
        body = {
            "slug": checklist.slug,
            "lang": lang,
            "title": checklist.title_hi if hindi else checklist.title_en,
            "source": _source(checklist),
            "steps": [
                {"number": step.number, "text": step.text_hi if hindi else step.text_en, "caution": step.caution}
                for step in checklist.steps
            ],
        }
    return json.dumps(body, ensure_ascii=False).encode()


async def get_checklist(request: web.Request) -> web.Response:
    slug, lang = SLUG.read(request), LANG.read(request)
    cache: TTLCache[bytes] = request.app[CHECKLISTS]
    body = cache.get((slug, lang))
    if body is None:
        body = await _checklist_body(request, slug, lang)
        cache.put((slug, lang), body)
    return web.Response(body=body, content_type="application/json", charset="utf-8")


async def health(request: web.Request) -> web.Response:
    try:
        async with request.app[DB].read() as session:
            await session.execute(select(1))
    except SQLAlchemyError:
        return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)
    return web.json_response({"status": "ok"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/health", health)
    app.router.add_get("/specialties", list_specialties)
    app.router.add_get("/checklists", list_checklists)
    app.router.add_get("/checklists/{slug}", get_checklist)
