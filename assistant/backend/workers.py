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
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.backend.app_state import DB
from assistant.backend.auth import require_role
from assistant.backend.errors import ApiError, invalid, not_found
from assistant.backend.validation import read_json_object
from assistant.core.db.models import Worker, WorkerChannelId, WorkerPin, utcnow
from assistant.core.passwords import hash_secret, verify_secret
from assistant.core.phones import phone_digits
from assistant.core.pins import check_pin_format, generate_pin
from assistant.core.rules import LOCKOUT, MAX_FAILED_ATTEMPTS, MESSAGING_CHANNELS

log = logging.getLogger(__name__)


# --- PINs -------------------------------------------------------------------


async def issue_pin(session: AsyncSession, worker_id: str, pin: str | None = None) -> str:
    """Set (or reset) a worker's PIN; clears any lockout. Returns the PIN, shown once."""
    worker = await session.get(Worker, worker_id)
    if worker is None:
        raise ValueError(f"no worker {worker_id!r}")
    pin = check_pin_format(pin) if pin is not None else generate_pin()
    record = await session.get(WorkerPin, worker_id)
    if record is None:
        record = WorkerPin(worker_id=worker_id)
        session.add(record)
    record.pin_hash = hash_secret(pin)
    record.failed_attempts = 0
    record.locked_until = None
    record.issued_at = utcnow()
    return pin


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


def worker_json(worker: Worker) -> dict[str, Any]:
    return {
        "id": worker.id,
        "name": worker.name,
        "role": worker.role,
        "facility_id": worker.facility_id,
        "designation": worker.designation,
    }


@dataclass(frozen=True)
class _PinState:
    pin_hash: str | None
    locked_until: dt.datetime | None
    worker: Worker | None


async def _pin_state(db: Any, worker_id: str) -> _PinState:
    async with db.read() as session:
        worker = await session.get(Worker, worker_id)
        record = await session.get(WorkerPin, worker_id)
    usable = worker is not None and worker.active and record is not None
    return _PinState(
        record.pin_hash if usable else None, record.locked_until if record else None, worker if usable else None
    )


async def _record_failure(db: Any, worker_id: str) -> dt.datetime | None:
    """Count one wrong PIN; returns the lockout end when this one tripped it.

    The increment happens in the database inside a write transaction, so
    guesses sent in parallel are all counted.
    """
    async with db.write() as session:
        await session.execute(
            update(WorkerPin)
            .where(WorkerPin.worker_id == worker_id)
            .values(failed_attempts=WorkerPin.failed_attempts + 1)
        )
        record = (await session.execute(select(WorkerPin).where(WorkerPin.worker_id == worker_id))).scalar_one()
        if record.failed_attempts < MAX_FAILED_ATTEMPTS:
            return None
        record.failed_attempts = 0
        record.locked_until = utcnow() + LOCKOUT
        return record.locked_until


async def verify_pin_login(db: Any, worker_id: str, pin: str) -> dict[str, Any]:
    now = utcnow()
    state = await _pin_state(db, worker_id)
    if state.locked_until is not None and state.locked_until > now:
        raise _locked_error(state.locked_until, now)
    # scrypt is deliberately slow and memory-hard: keep it off the event loop.
    loop = asyncio.get_running_loop()
    ok = await loop.run_in_executor(None, verify_secret, pin, state.pin_hash or _dummy_hash())
    if state.worker is None or not ok:
        if state.worker is not None:
            locked_until = await _record_failure(db, worker_id)
            log.info("PIN sign-in failed for worker %s%s", worker_id, " (now locked)" if locked_until else "")
            if locked_until is not None:
                raise _locked_error(locked_until, utcnow())
        raise _bad_credentials()
    async with db.write() as session:
        record = await session.get(WorkerPin, worker_id)
        # A parallel wrong guess may have locked the account meanwhile.
        if record.locked_until is not None and record.locked_until > utcnow():
            raise _locked_error(record.locked_until, utcnow())
        record.failed_attempts = 0
        record.locked_until = None
        record.last_login_at = utcnow()
    log.info("PIN sign-in for worker %s", worker_id)
    return {"worker": worker_json(state.worker)}


# --- Messaging identities ----------------------------------------------------


async def set_phone(session: AsyncSession, worker_id: str, number: str) -> str:
    worker = await session.get(Worker, worker_id)
    if worker is None:
        raise ValueError(f"no worker {worker_id!r}")
    digits = phone_digits(number)
    if not 8 <= len(digits) <= 15:
        raise ValueError("give the number in international form, e.g. +919812345678")
    worker.phone = "+" + digits
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


def _text_field(body: dict[str, Any], name: str, *, required: bool, limit: int = 128) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise invalid(name, f"{name} is required.")
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise invalid(name, f"{name} must be text of at most {limit} characters.")
    return value.strip()


async def pin_login(request: web.Request) -> web.Response:
    require_role(request, "service")
    body = await read_json_object(request)
    worker_id = _text_field(body, "worker_id", required=True, limit=64) or ""  # required: never empty here
    pin = _text_field(body, "pin", required=True, limit=16) or ""
    return web.json_response(await verify_pin_login(request.app[DB], worker_id.upper(), pin))


async def resolve(request: web.Request) -> web.Response:
    require_role(request, "service")
    body = await read_json_object(request)
    channel = _text_field(body, "channel", required=True, limit=16)
    if channel not in MESSAGING_CHANNELS:
        raise invalid(
            "channel", f"channel must be one of: {', '.join(MESSAGING_CHANNELS)}.", allowed=list(MESSAGING_CHANNELS)
        )
    phone = _text_field(body, "phone", required=False, limit=40)
    user_id = _text_field(body, "user_id", required=False)
    if not phone and not user_id:
        raise invalid("phone", "Give phone or user_id.")
    async with request.app[DB].write() as session:
        worker = await resolve_worker(session, channel, phone, user_id)
        if worker is None:
            raise not_found("registered worker for this sender")
        return web.json_response({"worker": worker_json(worker)})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/auth/pin", pin_login)
    app.router.add_post("/workers/resolve", resolve)
