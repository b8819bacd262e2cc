"""Pages: the dashboard (everyone) and the audit log (admins only)."""

from __future__ import annotations

from aiohttp import web

from assistant.console import audit, charts, dashboard, params, scope, tracker
from assistant.console.access import viewer
from assistant.console.app_state import DB, SETTINGS, TRACKER
from assistant.console.rendering import render
from assistant.core.config import Settings

AUDIT_PAGE = 100


async def dashboard_page(request: web.Request) -> web.Response:
    settings: Settings = request.app[SETTINGS]
    who = viewer(request)
    days = params.integer(request.query, "days", 14, 1, 366)
    visible = await scope.senders(request, None, None)
    if not await tracker.ready(request.app):
        raise web.HTTPServiceUnavailable(text="The tracker store is not there yet: start Rasa (assistant up) first.")
    figures = await dashboard.figures(
        request.app[TRACKER],
        request.app[DB],
        days=days,
        zone=settings.timezone,
        senders=visible.senders,
        facilities=who.visible_facilities,
    )
    await audit.record(request, "view_dashboard", f"last {days} days")
    per_day = charts.bar_chart([(day.strftime("%d %b"), figures.conversations.get(day, 0)) for day in figures.days])
    fallback = charts.bar_chart(
        [(day.strftime("%d %b"), round(100 * figures.daily_fallback_rate(day), 1)) for day in figures.days],
        unit="%",
        height=140,
    )
    workers = charts.bar_chart([(name, count) for _, name, count in figures.encounters_by_worker[:20]], height=160)
    return render(
        request, "dashboard.html", figures=figures, days=days, per_day=per_day, fallback=fallback, workers=workers
    )


async def audit_page(request: web.Request) -> web.Response:
    if not viewer(request).is_admin:
        raise web.HTTPForbidden(text="Only admins can read the audit log.")
    actor = params.identifier(request.query, "actor")
    action = params.identifier(request.query, "action")
    page = params.integer(request.query, "page", 1, 1, 1_000_000)
    await audit.record(request, "view_audit", f"page {page}")
    rows, total = await audit.entries(
        request, actor=actor, action=action, limit=AUDIT_PAGE, offset=(page - 1) * AUDIT_PAGE
    )
    return render(
        request,
        "audit.html",
        rows=rows,
        total=total,
        page=page,
        page_size=AUDIT_PAGE,
        actor=actor or "",
        action=action or "",
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/dashboard", dashboard_page)
    app.router.add_get("/audit", audit_page)
