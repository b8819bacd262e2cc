"""Who is signed in, what they may see, and the checks every request passes.

Sign-ins are server-side sessions: the cookie carries a random token (HTTP-only,
SameSite=Strict, Secure, expiring) and the database keeps its SHA-256, the
worker, the expiry and the session's CSRF token. Facility scope comes from
the backend's own rule (a supervisor sees the subtree under their facility,
a hub coordinator the facilities its hub serves, an admin everything),
recomputed on each request so a changed role or facility takes effect at
once. A specialist gets no facility at all: what they may read follows from
the consults assigned to them (``assistant.console.scope``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import delete, select

from assistant.console.app_state import DB, SETTINGS
from assistant.console.params import form_fields
from assistant.core.client_address import FORWARDED_FOR, trusted_proxies
from assistant.core.client_address import client_address as address_of
from assistant.core.config import Settings
from assistant.core.vocabulary import HUB_ROLES
from assistant.db.console_tables import ConsoleSession
from assistant.db.engine import Database
from assistant.db.models import Worker, utcnow
from assistant.db.purge import delete_in_batches
from assistant.domain.scoping import hub_of_worker, visible_facilities

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SESSION_COOKIE = "console_session"
LOGIN_COOKIE = "console_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# Supervisors and admins review conversations; the hub's coordinators and specialists use the Hub desk.
CONSOLE_ROLES = ("supervisor", "admin", *HUB_ROLES)
# Pages anyone may load; everything else needs someone signed in (``assistant.console.pages`` says who sees what).
# /metrics makes its own check: this machine, or the metrics token (assistant.core.metrics).
PUBLIC_PREFIXES = ("/login", "/health", "/static/", "/metrics")
# A sign-in never outlives this, however active.
MAX_SESSION_AGE = dt.timedelta(hours=12)
# Sliding expiry is written back at most this often, not on every request.
REFRESH_AFTER = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Viewer:
    worker_id: str
    name: str
    role: str
    facility_id: str
    visible_facilities: frozenset[str] | None  # None: every facility (admin)
    session_id: int
    csrf_token: str
    specialist_id: int | None = None  # a specialist's own ``specialists`` record
    hub_id: str | None = None  # the hub serving their facility: a coordinator's desk

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_hub(self) -> bool:
        """A coordinator or specialist: the Hub desk, not the supervisors' review pages."""
        return self.role in HUB_ROLES

    @property
    def is_specialist(self) -> bool:
        return self.role == "specialist"

    def can_see(self, facility_id: str | None) -> bool:
        return self.visible_facilities is None or (facility_id is not None and facility_id in self.visible_facilities)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def client_address(request: web.Request) -> str:
    """The direct peer, or the client a trusted reverse proxy names (``assistant.core.client_address``)."""
    settings: Settings = request.app[SETTINGS]
    return address_of(request.remote, request.headers.get(FORWARDED_FOR), trusted_proxies(settings.trusted_proxies))


def set_cookie(response: web.StreamResponse, settings: Settings, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", httponly=True, samesite="Strict", secure=settings.console_secure_cookies
    )


async def start_session(request: web.Request, worker_id: str) -> tuple[str, ConsoleSession]:
    settings: Settings = request.app[SETTINGS]
    token = secrets.token_urlsafe(32)
    record = ConsoleSession(
        token_hash=hash_token(token),
        worker_id=worker_id,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + dt.timedelta(minutes=settings.console_session_minutes),
    )
    async with request.app[DB].write() as session:
        session.add(record)
    return token, record


async def end_session(request: web.Request, viewer: Viewer) -> None:
    async with request.app[DB].write() as session:
        await session.execute(delete(ConsoleSession).where(ConsoleSession.id == viewer.session_id))


async def _viewer_for(request: web.Request, token: str) -> Viewer | None:
    settings: Settings = request.app[SETTINGS]
    now = utcnow()
    async with request.app[DB].read() as session:
        record = (
            await session.execute(select(ConsoleSession).where(ConsoleSession.token_hash == hash_token(token)))
        ).scalar_one_or_none()
        if record is None or record.expires_at <= now or record.created_at + MAX_SESSION_AGE <= now:
            return None
        worker = await session.get(Worker, record.worker_id)
        if worker is None or not worker.active or worker.role not in CONSOLE_ROLES:
            return None
        # A specialist reads only what their assigned consults lead to, never a whole facility's records.
        scope = await visible_facilities(session, worker)
        hub = hub_of_worker(worker)
    idle = dt.timedelta(minutes=settings.console_session_minutes)
    if record.expires_at - now < idle - REFRESH_AFTER:
        async with request.app[DB].write() as session:
            stored = await session.get(ConsoleSession, record.id)
            if stored is not None:
                stored.expires_at = now + idle
    return Viewer(
        worker.id,
        worker.name,
        worker.role,
        worker.facility_id,
        scope,
        record.id,
        record.csrf_token,
        worker.specialist_id,
        hub,
    )


async def purge_sessions(db: Database, now: dt.datetime | None = None) -> int:
    """Delete sign-ins past their expiry or their age limit (their cookies open nothing any more)."""
    now = now or utcnow()
    over = (ConsoleSession.expires_at <= now) | (ConsoleSession.created_at <= now - MAX_SESSION_AGE)
    return await delete_in_batches(db, ConsoleSession, over)


def viewer(request: web.Request) -> Viewer:
    return request["viewer"]


def is_public(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix) for prefix in PUBLIC_PREFIXES)


@web.middleware
async def require_sign_in(request: web.Request, handler: Handler) -> web.StreamResponse:
    token = request.cookies.get(SESSION_COOKIE)
    found = await _viewer_for(request, token) if token else None
    if found is not None:
        request["viewer"] = found
    elif not is_public(request.path):
        if request.method == "GET":
            raise web.HTTPSeeOther(f"/login?next={request.path_qs}" if request.path != "/" else "/login")
        raise web.HTTPUnauthorized(text="Sign in first.")
    return await handler(request)


def _same_origin(request: web.Request) -> bool:
    """Browsers send Origin on POST; a foreign one is refused even with a valid token."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return origin.split("://", 1)[-1] == request.host


def csrf_expected(request: web.Request) -> str | None:
    """The token a form must echo: the session's, or before sign-in the login cookie's."""
    if "viewer" in request:
        return viewer(request).csrf_token
    return request.cookies.get(LOGIN_COOKIE)


@web.middleware
async def check_csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return await handler(request)
    expected = csrf_expected(request)
    sent: object = request.headers.get(CSRF_HEADER)
    if sent is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sent = (await form_fields(request)).get(CSRF_FIELD)
    if (
        not expected
        or not isinstance(sent, str)
        or not hmac.compare_digest(sent, expected)
        or not _same_origin(request)
    ):
        raise web.HTTPForbidden(
            text=(
                "The form had expired or did not come from this console (CSRF check failed). Reload the page and "
                "try again."
            )
        )
    return await handler(request)
