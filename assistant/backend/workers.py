"""Worker sign-in for the chat channels: PINs with lockout, and sender -> worker mapping.

Only the channels call these routes, with the stack's service token:

- ``POST /auth/pin`` checks a worker's PIN. After ``MAX_FAILED_ATTEMPTS``
  wrong PINs in a row the worker is locked out for ``LOCKOUT``, whatever PIN
  comes next, so a 4-6 digit PIN cannot be guessed by trying them all.
- ``POST /workers/resolve`` maps a messaging identity (a WhatsApp phone
  number, or the business-scoped user id Meta sends when a user hides their
  number) to a registered worker.

PINs are stored as scrypt hashes (``assistant.core.passwords``), never in clear.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.backend.app_state import DB
from assistant.backend.auth import principal, require_role
from assistant.backend.errors import ApiError, invalid, not_found
from assistant.backend.fields import Body, Filter, Identifier, Listed, Parameter
from assistant.backend.validation import read_json_object
from assistant.core.passwords import hash_secret, verify_secret
from assistant.core.phones import international, phone_digits
from assistant.core.pins import check_pin_format, generate_pin
from assistant.core.rules import (
    LOCKOUT,
    MAX_FAILED_ATTEMPTS,
    MESSAGING_CHANNELS,
    PIN_INPUT_LIMIT,
    WORKER_ID,
    WORKER_ID_LENGTH,
)
from assistant.db.models import Worker, WorkerChannelId, WorkerPin, utcnow
from assistant.domain.people import person_json

log = logging.getLogger(__name__)


# --- PINs -------------------------------------------------------------------


async def issue_pin(session: AsyncSession, worker_id: str, pin: str | None = None) -> str:
    """Set (or reset) a worker's PIN; clears any lockout. Returns the PIN, shown once."""
    worker = await session.get(Worker, worker_id)
    if worker is None:
        raise ValueError(f"no worker {worker_id!r}")
    pin = check_pin_format(pin) if pin is not None else generate_pin()
    await _store_pins(session, {worker_id: hash_secret(pin)})
    return pin


async def issue_pins(session: AsyncSession, worker_ids: list[str]) -> dict[str, str]:
    """A new PIN for each of these workers (``issue_pin`` for many at once): their PINs, each shown once.

    scrypt is slow by design (tens of milliseconds a PIN), so the hashes are
    computed on threads, as many at once as there are cores.
    """
    pins = {worker_id: generate_pin() for worker_id in worker_ids}
    hashes = await asyncio.gather(*(asyncio.to_thread(hash_secret, pin) for pin in pins.values()))
    await _store_pins(session, dict(zip(pins, hashes, strict=True)))
    return pins


async def _store_pins(session: AsyncSession, hashes: dict[str, str]) -> None:
    """Store each worker's PIN hash, clearing any lockout (their records read in one query)."""
    existing = {
        record.worker_id: record
        for record in (await session.execute(select(WorkerPin).where(WorkerPin.worker_id.in_(list(hashes))))).scalars()
    }
    now = utcnow()
    for worker_id, pin_hash in hashes.items():
        record = existing.get(worker_id)
        if record is None:
            record = WorkerPin(worker_id=worker_id)
            session.add(record)
        record.pin_hash, record.failed_attempts, record.locked_until, record.issued_at = pin_hash, 0, None, now


async def pin_matches(session: AsyncSession, worker_id: str, pin: str) -> bool:
    """Whether the worker's stored PIN is ``pin`` (for ``assistant up``'s demo login)."""
    record = await session.get(WorkerPin, worker_id)
    return record is not None and verify_secret(pin, record.pin_hash)


_DUMMY_HASH: list[str] = []


def _dummy_hash() -> str:
    """A hash to verify against when there is no PIN, so timing tells nothing."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_secret(secrets.token_hex(8)))
    return _DUMMY_HASH[0]


def _locked_error(until: dt.datetime, now: dt.datetime) -> ApiError:
    seconds = max(1, int((until - now).total_seconds()))
    return ApiError(
        423,
        "locked",
        f"Too many wrong PINs. Try again in {max(1, round(seconds / 60))} minutes or ask your supervisor.",
        retry_after=seconds,
    )


def _bad_credentials() -> ApiError:
    # One answer for an unknown worker, a worker without a PIN and a wrong PIN.
    return ApiError(401, "invalid_credentials", "Worker id or PIN is wrong.")


worker_json = person_json


@dataclass(frozen=True)
class _Attempt:
    """One PIN attempt, counted before it is judged (or refused: ``locked_until``)."""

    pin_hash: str | None = None  # None: no such active worker, or no PIN (judged against a dummy hash)
    worker: Worker | None = None
    locked_until: dt.datetime | None = None


async def _claim_attempt(db: Any, worker_id: str) -> _Attempt:
    """Count the attempt, or refuse it, in one write transaction, before the slow PIN check.

    Counting first is what bounds parallel guesses: the sixth of a burst finds
    five attempts counted (whether or not they have been judged yet) and is
    refused without a check. ``with_for_update`` serialises the counters on
    PostgreSQL; SQLite has one writer at a time anyway. (Nothing is raised
    inside the transaction: that would roll the lockout back.)
    """
    async with db.write() as session:
        now = utcnow()
        worker = await session.get(Worker, worker_id)
        record = (
            await session.execute(select(WorkerPin).where(WorkerPin.worker_id == worker_id).with_for_update())
        ).scalar_one_or_none()
        if worker is None or not worker.active or record is None:
            return _Attempt()
        if record.locked_until is not None and record.locked_until > now:
            return _Attempt(locked_until=record.locked_until)
        if record.failed_attempts >= MAX_FAILED_ATTEMPTS:
            record.failed_attempts, record.locked_until = 0, now + LOCKOUT
            return _Attempt(locked_until=record.locked_until)
        record.failed_attempts += 1
        return _Attempt(record.pin_hash, worker)


async def _judged(db: Any, worker_id: str, right: bool) -> dt.datetime | None:
    """A right PIN clears the count; a wrong one that used up the last attempt locks the worker out (returned)."""
    async with db.write() as session:
        record = (
            await session.execute(select(WorkerPin).where(WorkerPin.worker_id == worker_id).with_for_update())
        ).scalar_one()
        now = utcnow()
        if right:
            record.failed_attempts, record.locked_until, record.last_login_at = 0, None, now
        elif record.failed_attempts >= MAX_FAILED_ATTEMPTS and record.locked_until is None:
            record.failed_attempts, record.locked_until = 0, now + LOCKOUT
            return record.locked_until
    return None


async def verify_pin_login(db: Any, worker_id: str, pin: str) -> dict[str, Any]:
    attempt = await _claim_attempt(db, worker_id)
    if attempt.locked_until is not None:
        raise _locked_error(attempt.locked_until, utcnow())
    # scrypt is deliberately slow and memory-hard: keep it off the event loop.
    right = await asyncio.to_thread(verify_secret, pin, attempt.pin_hash or _dummy_hash())
    if attempt.worker is None:
        raise _bad_credentials()
    locked_until = await _judged(db, worker_id, right)
    if not right:
        log.info("PIN sign-in failed for worker %s%s", worker_id, " (now locked)" if locked_until else "")
        raise _locked_error(locked_until, utcnow()) if locked_until else _bad_credentials()
    log.info("PIN sign-in for worker %s", worker_id)
    return {"worker": worker_json(attempt.worker)}


# --- Messaging identities ----------------------------------------------------


async def set_phone(session: AsyncSession, worker_id: str, number: str) -> str:
    worker = await session.get(Worker, worker_id)
    if worker is None:
        raise ValueError(f"no worker {worker_id!r}")
    worker.phone = international(number)
    return worker.phone


async def resolve_worker(session: AsyncSession, channel: str, phone: str | None, user_id: str | None) -> Worker | None:
    """The active worker behind a messaging identity, learning the user id from a phone match."""
    if user_id:
        link = (
            await session.execute(
                select(WorkerChannelId).where(
                    WorkerChannelId.channel == channel, WorkerChannelId.external_id == user_id
                )
            )
        ).scalar_one_or_none()
        if link is not None:
            worker = await session.get(Worker, link.worker_id)
            return worker if worker is not None and worker.active else None
    if not phone:
        return None
    digits = phone_digits(phone)
    if not digits:
        return None
    candidates = (
        (await session.execute(select(Worker).where(Worker.phone.in_(["+" + digits, digits]), Worker.active.is_(True))))
        .scalars()
        .all()
    )
    if len(candidates) != 1:
        return None  # unknown, or a shared number that cannot say who is writing
    worker = candidates[0]
    if user_id:
        # Meta may later send only the user id (when the user hides their number).
        session.add(WorkerChannelId(channel=channel, external_id=user_id, worker_id=worker.id))
    return worker


# --- Routes ------------------------------------------------------------------


# What the channels send (assistant.backend.fields: each checks and describes). A PIN is
# compared with its hash whatever it is; these lengths only keep absurd values out.
MAX_CHANNEL_TEXT = 16
MAX_PHONE_TEXT = 40
MAX_USER_ID = 128
PIN_LOGIN = Body(
    "PinLoginRequest",
    Identifier("worker_id", WORKER_ID_LENGTH, required=True),
    Identifier("pin", PIN_INPUT_LIMIT, required=True, description="The worker's PIN, as they typed it"),
)
RESOLVE_REQUEST = Body(
    "ResolveRequest",
    Listed("channel", MAX_CHANNEL_TEXT, allowed=MESSAGING_CHANNELS, required=True),
    Identifier("phone", MAX_PHONE_TEXT, description="The sender's number, international form"),
    Identifier("user_id", MAX_USER_ID, description="The business-scoped user id Meta sends"),
    description="phone or user_id (or both)",
)
WORKER_PATH_ID = Parameter(
    "path", Filter("id", description="A worker id (letters, digits, '-', '_', '.'); any other is not found")
)


async def pin_login(request: web.Request) -> web.Response:
    require_role(request, "service")
    body = await read_json_object(request)
    said = PIN_LOGIN.parse(body)  # both required: never None here
    return web.json_response(await verify_pin_login(request.app[DB], said["worker_id"].upper(), said["pin"]))


async def resolve(request: web.Request) -> web.Response:
    require_role(request, "service")
    body = await read_json_object(request)
    said = RESOLVE_REQUEST.parse(body)
    channel, phone, user_id = said["channel"], said["phone"], said["user_id"]
    if not phone and not user_id:
        raise invalid("phone", "Give phone or user_id.")
    async with request.app[DB].write() as session:
        worker = await resolve_worker(session, channel, phone, user_id)
        if worker is None:
            raise not_found("registered worker for this sender")
        return web.json_response({"worker": worker_json(worker)})


async def me(request: web.Request) -> web.Response:
    """Who the token is: the channels check a worker's own token with it (the REST channel)."""
    who = principal(request)
    worker = None
    if who.worker_id is not None:
        async with request.app[DB].read() as session:
            found = await session.get(Worker, who.worker_id)
        worker = worker_json(found) if found is not None else None
    return web.json_response({"role": who.role, "worker": worker})


async def get_worker(request: web.Request) -> web.Response:
    """One worker, active or not: the channels re-check a signed-in worker with it."""
    who = require_role(request, "service", "supervisor", "admin")
    worker_id = WORKER_PATH_ID.read(request)
    async with request.app[DB].read() as session:
        worker = await session.get(Worker, worker_id) if WORKER_ID.match(worker_id) else None
    if worker is None or not who.can_see(worker.facility_id):
        raise not_found("worker")
    return web.json_response({"worker": worker_json(worker)})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/auth/pin", pin_login)
    app.router.add_post("/workers/resolve", resolve)
    app.router.add_get("/me", me)
    app.router.add_get("/workers/{id}", get_worker)
