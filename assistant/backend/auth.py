"""Who a request is (its bearer token, ``assistant.domain.api_tokens``) and what it may see."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.backend.app_state import DB, PRINCIPALS
from assistant.backend.errors import ApiError, Handler, invalid
from assistant.core.cache import TTLCache
from assistant.core.rules import IDENTITY_RECHECK_SECONDS
from assistant.core.vocabulary import HUB_ROLES
from assistant.db.models import Consult, Worker
from assistant.domain.api_tokens import hash_token, usable_token
from assistant.domain.hub_operations import HubActor
from assistant.domain.scoping import hub_of_worker, visible_facilities

# Resolving a token costs several queries; a revoked token or a moved worker
# takes effect within this many seconds.
PRINCIPAL_CACHE_SECONDS = IDENTITY_RECHECK_SECONDS
ON_BEHALF_HEADER = "X-On-Behalf-Of"
# /metrics makes its own check: this machine, or the metrics token (assistant.core.metrics).
PUBLIC_PATHS = frozenset({"/health", "/openapi.json", "/metrics"})


@dataclass(frozen=True)
class Principal:
    token_id: int
    role: str
    worker_id: str | None
    facility_id: str | None
    # None means every facility.
    visible_facilities: frozenset[str] | None
    acting_for: str | None = None  # set when a service token acts for a worker
    specialist_id: int | None = None  # a specialist's login: the specialist record they are
    hub_id: str | None = None  # the hub serving their facility: where their consults go, a coordinator's desk

    @property
    def own_records_only(self) -> bool:
        """A field worker sees and cancels only the records they made; others see their facilities'."""
        return self.role == "worker"

    def can_see(self, facility_id: str, owner: str | None = None) -> bool:
        if self.own_records_only and owner is not None and owner != self.worker_id:
            return False
        return self.visible_facilities is None or facility_id in self.visible_facilities

    def sees_consult(self, consult: Consult) -> bool:
        """A specialist sees the consults assigned to them; everyone else by facility (and a worker their own)."""
        if self.role in HUB_ROLES:
            return self.hub_actor().sees(consult)
        return self.can_see(consult.facility_id, owner=consult.requested_by)

    @property
    def who(self) -> str:
        """Who to record as having acted (``cancelled_by``, ``closed_by``): the person, else the token."""
        return self.worker_id or f"token:{self.token_id}"

    def hub_actor(self) -> HubActor:
        return HubActor(self.who, self.role, self.specialist_id, self.hub_id)

    @property
    def idempotency_scope(self) -> str:
        """Keys are per acting worker: the same key from two workers is two requests, and a
        retry after the service token was rotated is still the same one."""
        return f"worker:{self.worker_id}" if self.worker_id else f"token:{self.token_id}"

    def require_worker(self) -> str:
        """The worker a clinical record is written for."""
        if self.worker_id is None:
            raise invalid(
                ON_BEHALF_HEADER, f"A {self.role} token must name the worker in the {ON_BEHALF_HEADER} header."
            )
        return self.worker_id


async def resolve_principal(session: AsyncSession, authorization: str, on_behalf_of: str | None) -> Principal:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "Send 'Authorization: Bearer <token>'.")
    record = await usable_token(session, token.strip())
    if record is None:
        raise ApiError(401, "unauthorized", "The token is not valid (unknown, revoked or expired).")

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
            specialist_id=worker.specialist_id,
            hub_id=hub_of_worker(worker),
        )

    if record.worker_id is None:
        return Principal(record.id, record.role, None, None, None)
    worker = await session.get(Worker, record.worker_id)
    if worker is None:
        raise ApiError(401, "unauthorized", "The token is not valid.")
    if not worker.active:
        raise ApiError(403, "inactive_worker", "This worker has been deactivated.")
    return Principal(
        record.id,
        record.role,
        worker.id,
        worker.facility_id,
        await visible_facilities(session, worker),
        specialist_id=worker.specialist_id,
        hub_id=hub_of_worker(worker),
    )


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


def record_channel(who: Principal, said: str) -> str:
    """The channel a record came through: the action server (acting for a worker) knows it; anyone else is the API."""
    return said if who.acting_for is not None else "api"


def clinical_author(request: web.Request) -> Principal:
    """Clinical records are written by field workers (a service token acts for one)."""
    who = principal(request)
    who.require_worker()
    if who.role != "worker":
        raise ApiError(
            403, "forbidden", "Only health workers (or the assistant acting for one) write clinical records."
        )
    return who


# Who works the hub desk: coordinators and specialists, and admins, who may do anything.
HUB_DESK_ROLES = (*HUB_ROLES, "admin")


def hub_actor(request: web.Request) -> HubActor:
    """The caller as the hub sees them; 403 for anyone who does not work the hub desk."""
    return require_role(request, *HUB_DESK_ROLES).hub_actor()
