"""The backend's bearer tokens: made, checked and revoked in its database.

Tokens are 256-bit random secrets stored as SHA-256 hashes: a leaked table
is useless, and lookup stays a single indexed query. The backend checks them
on every request (``assistant.backend.auth``); ``assistant token ...``,
``assistant up`` (the action server's service token) and ``assistant chat``
/ ``assistant voice`` (a worker's own token, ``local_worker_token``) make them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.core.commands import CommandError
from assistant.core.config import Settings
from assistant.core.rules import TOKEN_LIFETIMES, WORKER_ID
from assistant.core.secrets import read_secret, write_secret
from assistant.core.vocabulary import ROLES
from assistant.db.models import ApiToken, Worker, utcnow

TOKEN_PREFIX = "fa_"
# A token of these roles is one person's, so it names them (``--worker``), and they must hold the role.
PERSONAL_ROLES = ("worker", "supervisor", "coordinator", "specialist")


class Default:
    """The role's default token lifetime (``None`` would mean: never expires)."""


DEFAULT = Default()


def default_lifetime(role: str) -> dt.timedelta | None:
    """How long a ``role`` token lasts unless told otherwise (``TOKEN_LIFETIMES``).

    A person's role without an entry of its own there (the hub's coordinators
    and specialists) lasts as long as a supervisor's: a person's token always
    expires by default; only the service token may live until revoked.
    """
    if role in TOKEN_LIFETIMES:
        return TOKEN_LIFETIMES[role]
    return TOKEN_LIFETIMES["supervisor"]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(
    session: AsyncSession,
    role: str,
    worker_id: str | None = None,
    label: str | None = None,
    lifetime: dt.timedelta | None | Default = DEFAULT,
) -> str:
    """A new bearer token, shown once; it expires after ``lifetime`` (default: the role's, ``TOKEN_LIFETIMES``)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose from {', '.join(ROLES)}")
    if role in PERSONAL_ROLES and not worker_id:
        raise ValueError(f"a {role} token needs --worker")
    if worker_id is not None:
        worker = await session.get(Worker, worker_id)
        if worker is None:
            raise ValueError(f"no worker {worker_id!r}: register them with `assistant worker add`")
        if worker.role != role and role != "service":
            raise ValueError(f"worker {worker_id} has role {worker.role}, not {role}")
        if not worker.active:
            raise ValueError(f"worker {worker_id} is deactivated (`assistant worker activate {worker_id}`)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    lasts = default_lifetime(role) if isinstance(lifetime, Default) else lifetime
    expires_at = utcnow() + lasts if lasts is not None else None
    session.add(
        ApiToken(token_hash=hash_token(token), role=role, worker_id=worker_id, label=label, expires_at=expires_at)
    )
    return token


async def usable_token(session: AsyncSession, token: str) -> ApiToken | None:
    """The token's record, unless it is unknown, revoked or expired."""
    record = (
        await session.execute(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    ).scalar_one_or_none()
    if record is None or record.revoked_at is not None:
        return None
    if record.expires_at is not None and record.expires_at <= utcnow():
        return None
    return record


async def revoke_tokens(
    session: AsyncSession, *, token: str | None = None, token_id: int | None = None, worker_id: str | None = None
) -> int:
    """Revoke one token (by its value or id) or every token of a worker; returns how many."""
    query = update(ApiToken).where(ApiToken.revoked_at.is_(None))
    if token is not None:
        query = query.where(ApiToken.token_hash == hash_token(token))
    elif token_id is not None:
        query = query.where(ApiToken.id == token_id)
    elif worker_id is not None:
        query = query.where(ApiToken.worker_id == worker_id)
    else:
        raise ValueError("say which token to revoke: a token, its id, or a worker")
    result = await session.execute(query.values(revoked_at=utcnow()))
    return int(result.rowcount or 0)


def stored_token(settings: Settings, name: str, role: str, worker_id: str | None, label: str) -> str:
    """The token kept as secret ``name`` if the database still takes it, else a new one (kept, mode 0600)."""
    from assistant.db.engine import Database  # the engine only when a token is needed

    async def run() -> str:
        db = Database.connect(settings.database_url)
        try:
            await db.migrate()
            existing = read_secret(settings, name)
            async with db.write() as session:
                if existing:
                    record = await usable_token(session, existing)
                    owner = await session.get(Worker, worker_id) if worker_id else None
                    if record is not None and (owner is None or owner.active):
                        return existing
                token = await create_token(session, role, worker_id, label)
            write_secret(settings, name, token)
            return token
        finally:
            await db.dispose()

    return asyncio.run(run())


def local_worker_token(settings: Settings, worker_id: str) -> str:
    """A worker's own token for this machine's REST channel (``assistant chat``, ``assistant voice``).

    Made from the local database as ``assistant token create --role worker``
    would, and kept under ``data_dir/secrets`` for the next run. ``ValueError``
    says why there is none (no such worker, deactivated, not a field worker).
    """
    if not WORKER_ID.match(worker_id):
        raise ValueError(f"{worker_id!r} is not a worker id (letters, digits, '-', '_', '.')")
    return stored_token(settings, f"worker_token_{worker_id}", "worker", worker_id, "this machine's chat and voice")


def command_worker_token(settings: Settings, worker_id: str) -> str:
    """``local_worker_token`` for a command line: a ``CommandError`` tells the user why there is none."""
    try:
        return local_worker_token(settings, worker_id)
    except ValueError as exc:
        raise CommandError(f"cannot talk as {worker_id}: {exc}") from exc
