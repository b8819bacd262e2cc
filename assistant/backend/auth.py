"""Bearer tokens (stored as SHA-256 hashes) and who a request may see.

Tokens are 256-bit random secrets, so a plain SHA-256 is enough to make a
leaked table useless and keeps lookup a single indexed query.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.backend.app_state import DB, PRINCIPALS
from assistant.backend.cache import TTLCache
from assistant.backend.errors import ApiError, Handler, invalid
from assistant.core.db.models import ApiToken, Worker
from assistant.core.scoping import visible_facilities
from assistant.core.vocabulary import ROLES

TOKEN_PREFIX = "fa_"
# Resolving a token costs several queries; a revoked token or a moved worker
# takes effect within this many seconds.
PRINCIPAL_CACHE_SECONDS = 30.0
ON_BEHALF_HEADER = "X-On-Behalf-Of"
PUBLIC_PATHS = frozenset({"/health", "/openapi.json"})


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    token_id: int
    role: str
    worker_id: str | None
    facility_id: str | None
    # None means every facility.
    visible_facilities: frozenset[str] | None
    acting_for: str | None = None  # set when a service token acts for a worker

    def can_see(self, facility_id: str) -> bool:
        return self.visible_facilities is None or facility_id in self.visible_facilities

    def require_worker(self) -> str:
        """The worker a clinical record is written for."""
        if self.worker_id is None:
            raise invalid(
                ON_BEHALF_HEADER, f"A {self.role} token must name the worker in the {ON_BEHALF_HEADER} header."
            )
        return self.worker_id


async def create_token(session: AsyncSession, role: str, worker_id: str | None = None, label: str | None = None) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose from {', '.join(ROLES)}")
    if role in ("worker", "supervisor") and not worker_id:
        raise ValueError(f"a {role} token needs --worker")
    if worker_id is not None:
        worker = await session.get(Worker, worker_id)
        if worker is None:
            raise ValueError(f"no worker {worker_id!r}")
        if worker.role != role and role != "service":
            raise ValueError(f"worker {worker_id} has role {worker.role}, not {role}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(token_hash=hash_token(token), role=role, worker_id=worker_id, label=label))
    return token


async def resolve_principal(session: AsyncSession, authorization: str, on_behalf_of: str | None) -> Principal:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "Send 'Authorization: Bearer <token>'.")
    record = (
        await session.execute(select(ApiToken).where(ApiToken.token_hash == hash_token(token.strip())))
    ).scalar_one_or_none()
    if record is None or record.revoked_at is not None:
        raise ApiError(401, "unauthorized", "The token is not valid.")

    if on_behalf_of:
        if record.role != "service":
            raise ApiError(403, "forbidden", f"Only a service token may use {ON_BEHALF_HEADER}.")
        worker = await session.get(Worker, on_behalf_of)
        if worker is None or not worker.active:
            raise ApiError(403, "unknown_worker", f"{ON_BEHALF_HEADER} names no active worker.")
        return Principal(
            record.id,
            worker.role,
            worker.id,
            worker.facility_id,
            await visible_facilities(session, worker),
            acting_for=worker.id,
        )

    if record.worker_id is None:
        return Principal(record.id, record.role, None, None, None)
    worker = await session.get(Worker, record.worker_id)
    if worker is None or not worker.active:
        raise ApiError(401, "unauthorized", "The token's worker is not active.")
    return Principal(record.id, record.role, worker.id, worker.facility_id, await visible_facilities(session, worker))


def principal_cache() -> TTLCache[Principal]:
    return TTLCache(PRINCIPAL_CACHE_SECONDS)


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in PUBLIC_PATHS or request.method == "OPTIONS":
        return await handler(request)
    authorization = request.headers.get("Authorization", "")
    on_behalf_of = request.headers.get(ON_BEHALF_HEADER)
    cache: TTLCache[Principal] = request.app[PRINCIPALS]
    key = (hash_token(authorization), on_behalf_of)
    resolved = cache.get(key)
    if resolved is None:
        async with request.app[DB].read() as session:
            resolved = await resolve_principal(session, authorization, on_behalf_of)
        cache.put(key, resolved)
    request["principal"] = resolved
    return await handler(request)


def principal(request: web.Request) -> Principal:
    return request["principal"]


def require_role(request: web.Request, *roles: str) -> Principal:
    who = principal(request)
    if who.role not in roles:
        raise ApiError(403, "forbidden", f"This needs one of the roles: {', '.join(roles)}.")
    return who


def clinical_author(request: web.Request) -> Principal:
    """Clinical records are written by field workers (a service token acts for one)."""
    who = principal(request)
    who.require_worker()
    if who.role != "worker":
        raise ApiError(
            403, "forbidden", "Only health workers (or the assistant acting for one) write clinical records."
        )
    return who
