"""Sign-in and sign-out, with a rate limit on failures per account and per address.

Failed attempts are counted in the database, so the limit holds across
restarts and across several console processes. An account's count restarts
after a successful sign-in; an address gets more room than an account
because a clinic's staff often share one.

An attempt is counted (as failed) before its password is checked, in one
serialised write with the check of the limit, and marked a success after:
parallel guesses can never get more answers than the limit. The check
itself (scrypt, slow by design) runs off the event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.console import audit, params
from assistant.console.access import (
    CONSOLE_ROLES,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    client_address,
    end_session,
    set_cookie,
    start_session,
    viewer,
)
from assistant.console.app_state import DB, SETTINGS
from assistant.console.pages import home_path
from assistant.console.rendering import render
from assistant.core.config import Settings
from assistant.core.passwords import hash_secret, verify_secret
from assistant.core.rules import ADDRESS_FAILURE_FACTOR
from assistant.db.console_tables import ConsolePassword, ConsoleSession, LoginAttempt
from assistant.db.engine import Database
from assistant.db.locks import serialise
from assistant.db.models import Worker, utcnow

LOGIN_COOKIE_SECONDS = 3600
# Verified when the account has no password, so unknown ids take as long as known ones.
_DUMMY_HASH = hash_secret(secrets.token_urlsafe(16))
WRONG = "Wrong id or password."
NOT_FOR_WORKERS = (
    "Only supervisors and admins, and the hub's coordinators and specialists, can sign in to the console. "
    "Health workers use the assistant itself."
)


def safe_next(raw: str | None, default: str = "/conversations") -> str:
    """Only paths on this console: never an open redirect (``default`` instead).

    Browsers drop tabs and newlines from a URL and read ``\\`` as ``/``, so
    ``/\t/evil.example`` would become ``//evil.example``: any whitespace,
    control character or backslash refuses the path.
    """
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return default
    if any(character.isspace() or not character.isprintable() for character in raw):
        return default
    parts = urlsplit(raw)
    return default if parts.scheme or parts.netloc else raw


async def login_form(
    request: web.Request, *, error: str | None = None, status: int = 200, username: str = ""
) -> web.Response:
    if "viewer" in request and error is None:
        raise web.HTTPSeeOther(safe_next(request.query.get("next"), home_path(viewer(request).role)))
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        status=status,
        login_token=token,
        error=error,
        username=username,
        next=safe_next(request.query.get("next"), ""),  # none: after sign-in, the role's own home
    )
    set_cookie(response, request.app[SETTINGS], LOGIN_COOKIE, token, LOGIN_COOKIE_SECONDS)
    return response


async def _claim_attempt(request: web.Request, username: str, address: str) -> int | None:
    """The attempt's id, counted as failed until it succeeds; ``None`` when the account or address is over its limit."""
    settings: Settings = request.app[SETTINGS]
    window = dt.timedelta(minutes=settings.console_login_window_minutes)
    async with request.app[DB].write() as session:
        await serialise(session, "console-login")
        # Keep the table small: attempts outside the window no longer matter.
        await session.execute(delete(LoginAttempt).where(LoginAttempt.at < utcnow() - window))
        by_account, by_address = await _failures(session, username, address, utcnow() - window)
        if (
            by_account >= settings.console_login_max_failures
            or by_address >= settings.console_login_max_failures * ADDRESS_FAILURE_FACTOR
        ):
            return None
        attempt = LoginAttempt(address=address, username=username, success=0)
        session.add(attempt)
        await session.flush()
        return int(attempt.id)


async def _succeeded(request: web.Request, attempt_id: int) -> None:
    async with request.app[DB].write() as session:
        attempt = await session.get(LoginAttempt, attempt_id)
        if attempt is not None:
            attempt.success = 1


async def _failures(session: AsyncSession, username: str, address: str, since: dt.datetime) -> tuple[int, int]:
    """Failed attempts since ``since`` of the account (since its last success) and of the address."""
    last_success = (
        await session.execute(
            select(func.max(LoginAttempt.at)).where(LoginAttempt.username == username, LoginAttempt.success == 1)
        )
    ).scalar_one()
    account_since = max(since, last_success) if last_success else since
    by_account = (
        await session.execute(
            select(func.count()).where(
                LoginAttempt.username == username, LoginAttempt.success == 0, LoginAttempt.at > account_since
            )
        )
    ).scalar_one()
    by_address = (
        await session.execute(
            select(func.count()).where(
                LoginAttempt.address == address, LoginAttempt.success == 0, LoginAttempt.at > since
            )
        )
    ).scalar_one()
    return by_account, by_address


async def _check(request: web.Request, username: str, password: str) -> tuple[Worker | None, str | None]:
    """The worker if the password is right and the role may sign in, else why not."""
    async with request.app[DB].read() as session:
        worker = await session.get(Worker, username)
        stored = await session.get(ConsolePassword, username)
    right = await asyncio.to_thread(verify_secret, password, stored.password_hash if stored else _DUMMY_HASH)
    password_ok = right and stored is not None
    if worker is None or not password_ok or not worker.active:
        return None, WRONG
    if worker.role not in CONSOLE_ROLES:
        return None, NOT_FOR_WORKERS
    return worker, None


async def login(request: web.Request) -> web.Response:
    settings: Settings = request.app[SETTINGS]
    form = await params.form_fields(request)
    username = str(form.get("username", "")).strip()[:64]
    password = str(form.get("password", ""))
    if not username or not password:
        return await login_form(request, error="Enter your id and password.", status=400, username=username)
    address = client_address(request)
    attempt_id = await _claim_attempt(request, username, address)
    if attempt_id is None:
        await audit.record(request, "login_throttled", f"account {username}", actor=username)
        response = await login_form(
            request,
            error=f"Too many failed sign-ins. Wait {settings.console_login_window_minutes} minutes and try again.",
            status=429,
            username=username,
        )
        response.headers["Retry-After"] = str(settings.console_login_window_minutes * 60)
        return response

    worker, problem = await _check(request, username, password)
    if worker is None:
        await audit.record(
            request,
            "login_refused" if problem == NOT_FOR_WORKERS else "login_failed",
            f"account {username}",
            actor=username,
        )
        return await login_form(
            request, error=problem, status=403 if problem == NOT_FOR_WORKERS else 401, username=username
        )

    await _succeeded(request, attempt_id)
    token, _ = await start_session(request, worker.id)
    await audit.record(request, "login", f"account {worker.id}", actor=worker.id, role=worker.role)
    response = web.HTTPSeeOther(safe_next(str(form.get("next", "")), home_path(worker.role)))
    set_cookie(response, settings, SESSION_COOKIE, token, settings.console_session_minutes * 60)
    response.del_cookie(LOGIN_COOKIE, path="/")
    raise response


async def logout(request: web.Request) -> web.Response:
    await end_session(request, viewer(request))
    await audit.record(request, "logout")
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def set_password(db: Database, worker_id: str, password: str) -> None:
    """Used by ``assistant console password``: supervisors, admins and the hub's coordinators and specialists."""
    async with db.write() as session:
        worker = await session.get(Worker, worker_id)
        if worker is None:
            raise ValueError(f"no worker {worker_id!r}")
        if worker.role not in CONSOLE_ROLES:
            raise ValueError(
                f"{worker_id} is a {worker.role}; only supervisors, admins, coordinators and specialists sign in "
                "to the console"
            )
        stored = await session.get(ConsolePassword, worker_id)
        if stored is None:
            session.add(ConsolePassword(worker_id=worker_id, password_hash=hash_secret(password)))
        else:
            stored.password_hash = hash_secret(password)
            stored.updated_at = utcnow()
        # Whoever signed in with the old password is signed out.
        await session.execute(delete(ConsoleSession).where(ConsoleSession.worker_id == worker_id))


async def has_password(db: Database, worker_id: str) -> bool:
    async with db.read() as session:
        return await session.get(ConsolePassword, worker_id) is not None


def add_routes(app: web.Application) -> None:
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
