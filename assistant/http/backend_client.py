"""The one client of the scheduling backend (docs/contracts.md), for the action server and the channels.

Every request carries a bearer token; the action server's service token acts
for a worker with ``X-On-Behalf-Of``. One pooled aiohttp session per client
and event loop keeps connections open between turns. Failures split in two:

- ``BackendUnavailable``: connection refused, timeout or a 5xx, after bounded
  retries with exponential backoff. Writes then go to the offline outbox.
- ``BackendRejected``: a 4xx with the backend's error body. Retrying cannot
  help; the caller says why (or, for a worker's PIN, shows it).

Both are ``BackendError``. Retrying a POST is safe because every write sends
an ``Idempotency-Key``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from multidict import MultiDict

from assistant.core.rules import CANCELLABLE_STATUSES

log = logging.getLogger(__name__)

ON_BEHALF_HEADER = "X-On-Behalf-Of"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class BackendError(Exception):
    """The backend did not do what was asked."""


class BackendUnavailable(BackendError):
    """The backend could not be reached or did not answer in time; trying later may work.

    ``maybe_applied``: at least one attempt got as far as sending the request
    (it then timed out, lost the connection or met a 5xx), so a write may have
    been carried out. False only when no attempt ever connected.
    """

    def __init__(self, problem: str, maybe_applied: bool = True) -> None:
        super().__init__(problem)
        self.maybe_applied = maybe_applied


class BackendRejected(BackendError):
    """The backend answered with a 4xx: the request itself is wrong or not allowed."""

    def __init__(self, status: int, error: Mapping[str, Any]) -> None:
        self.status = status
        self.error: dict[str, Any] = dict(error)
        self.code = str(self.error.get("code", "error"))
        self.message = str(self.error.get("message", ""))
        self.field: str | None = self.error.get("field")
        super().__init__(f"{status} {self.code}: {self.message}")

    @property
    def unknown_worker(self) -> bool:
        return self.code == "unknown_worker" or self.status == 401


@dataclass(frozen=True)
class Timeouts:
    connect: float = 2.0
    total: float = 5.0
    retries: int = 2  # attempts after the first
    backoff: float = 0.25  # seconds, doubled after each attempt


class BackendClient:
    def __init__(self, base_url: str, token: str, timeouts: Timeouts | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._timeouts = timeouts or Timeouts()
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # How many requests the backend has answered (any answer but a 5xx): who paused for an outage
        # can tell that it is over (``assistant.channels.notice_delivery``).
        self.answers = 0

    # --- consults (the action server, for a worker) -----------------------------------
    async def create_consult(self, worker_id: str, body: Mapping[str, Any], key: str) -> dict[str, Any]:
        return await self.post("/consults", worker_id, body, key)

    async def recent_consults(self, worker_id: str) -> list[dict[str, Any]]:
        """The worker's latest consults, whatever their status, newest first."""
        page = await self.get("/consults", worker_id, {"requested_by": worker_id, "limit": "50"})
        return list(page.get("items", []))

    async def open_consults(self, worker_id: str) -> list[dict[str, Any]]:
        """The worker's consults that can still be cancelled, newest first."""
        return [item for item in await self.recent_consults(worker_id) if item.get("status") in CANCELLABLE_STATUSES]

    async def cancel_consult(self, worker_id: str, consult_id: int, key: str) -> dict[str, Any]:
        return await self.post(f"/consults/{int(consult_id)}/cancel", worker_id, {}, key)

    # --- follow-up tasks (issue 28) ----------------------------------------------------
    async def due_tasks(self, worker_id: str) -> list[dict[str, Any]]:
        """The worker's open tasks due today or overdue (the backend's local date), overdue first."""
        return list((await self.get("/tasks", worker_id, {"due": "today"})).get("items", []))

    async def open_tasks_of(self, worker_id: str, patient_ref: str) -> list[dict[str, Any]]:
        """The worker's open tasks for one patient, overdue first."""
        return list((await self.get("/tasks", worker_id, {"patient_ref": patient_ref})).get("items", []))

    async def add_task(self, worker_id: str, body: Mapping[str, Any], key: str) -> dict[str, Any]:
        return await self.post("/tasks", worker_id, body, key)

    async def task_done(self, worker_id: str, task_id: int, encounter_id: int | None, key: str) -> dict[str, Any]:
        body = {} if encounter_id is None else {"encounter_id": int(encounter_id)}
        return await self.post(f"/tasks/{int(task_id)}/done", worker_id, body, key)

    async def latest_encounter(self, worker_id: str, patient_ref: str) -> dict[str, Any] | None:
        """The worker's latest visit logged for the patient, if any."""
        items = (await self.get("/encounters", worker_id, {"patient_ref": patient_ref, "limit": "1"})).get("items")
        return items[0] if items else None

    # --- encounters and checklists ----------------------------------------------------
    async def create_encounter(self, worker_id: str, body: Mapping[str, Any], key: str) -> dict[str, Any]:
        return await self.post("/encounters", worker_id, body, key)

    async def checklists(self, worker_id: str) -> list[dict[str, Any]]:
        return (await self.get("/checklists", worker_id)).get("items", [])

    async def checklist(self, worker_id: str, slug: str, language: str) -> dict[str, Any]:
        return await self.get(f"/checklists/{slug}", worker_id, {"lang": language})

    # --- sign-in and senders (the channels) -------------------------------------------
    async def pin_login(self, worker_id: str, pin: str) -> dict[str, Any]:
        """The worker (``{"id", "name", "role", ...}``); ``BackendRejected`` 401/423 for a wrong PIN or lockout."""
        return (await self._request("POST", "/auth/pin", None, body={"worker_id": worker_id, "pin": pin}, retry=False))[
            "worker"
        ]

    async def resolve_sender(self, channel: str, phone: str | None, user_id: str | None) -> dict[str, Any] | None:
        """The registered worker behind a messaging identity, or ``None``."""
        try:
            found = await self._request(
                "POST", "/workers/resolve", None, body={"channel": channel, "phone": phone, "user_id": user_id}
            )
        except BackendRejected as exc:
            if exc.status == 404:
                return None
            # 401/403: the service token is wrong; no retry will fix it, but no sender is refused for it either.
            raise BackendUnavailable(f"backend refused the lookup ({exc.status}: {exc.message})") from exc
        return found["worker"]

    async def worker(self, worker_id: str) -> dict[str, Any] | None:
        """A worker, active or not (``"active"``); ``None`` when there is no such worker."""
        try:
            return (await self._request("GET", f"/workers/{quote(worker_id, safe='')}", None))["worker"]
        except BackendRejected as exc:
            if exc.status == 404:
                return None
            raise BackendUnavailable(f"backend refused the lookup ({exc.status}: {exc.message})") from exc

    async def token_owner(self, token: str) -> dict[str, Any]:
        """``{"role", "worker"}`` of someone else's bearer token (the REST channel's callers);
        ``BackendRejected`` 401 for a token that is not (or no longer) valid, 403 for a deactivated worker."""
        return await self._request("GET", "/me", None, authorization=f"Bearer {token}")

    # --- hub notices (the channels tell workers what the hub did) ---------------------
    async def pending_notices(
        self, worker_id: str | None = None, channels: tuple[str, ...] | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Notices not yet delivered, oldest first (service token): a worker's, or those of some channels."""
        params: MultiDict[str] = MultiDict({"limit": str(int(limit))})
        if worker_id:
            params["worker"] = worker_id
        for channel in channels or ():
            params.add("channel", channel)  # repeated: one per channel
        return list((await self._request("GET", "/notices", None, params=params)).get("items", []))

    async def notice_delivered(self, notice_id: int, via: str) -> dict[str, Any]:
        """Mark a notice delivered (``via`` a channel, or ``"twilio"``); marking it again changes nothing."""
        return await self._request("POST", f"/notices/{int(notice_id)}/delivered", None, body={"via": via})

    # --- transport -------------------------------------------------------------------
    async def get(self, path: str, worker_id: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        return await self._request("GET", path, worker_id, params=params)

    async def post(self, path: str, worker_id: str, body: Mapping[str, Any], key: str) -> dict[str, Any]:
        return await self._request("POST", path, worker_id, body=body, key=key)

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def _pooled_session(self) -> aiohttp.ClientSession:
        """One session per event loop: a session is bound to the loop it was made in."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            timeout = aiohttp.ClientTimeout(total=self._timeouts.total, connect=self._timeouts.connect)
            self._session = aiohttp.ClientSession(timeout=timeout, headers={"Authorization": f"Bearer {self._token}"})
            self._loop = loop
        return self._session

    async def _request(self, method: str, path: str, worker_id: str | None, **options: Any) -> dict[str, Any]:
        return await self._send(method, path, worker_id, **options)

    async def _send(
        self,
        method: str,
        path: str,
        worker_id: str | None,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        key: str | None = None,
        retry: bool = True,
        authorization: str | None = None,
    ) -> dict[str, Any]:
        headers = {ON_BEHALF_HEADER: worker_id} if worker_id else {}
        if authorization:
            headers["Authorization"] = authorization  # instead of the client's own token
        if key:
            headers[IDEMPOTENCY_HEADER] = key
        attempts = self._timeouts.retries + 1 if retry else 1
        delay = self._timeouts.backoff
        last_problem = ""
        reached = False  # did any attempt get past connecting?
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(delay)
                delay *= 2
            try:
                async with self._pooled_session().request(
                    method, self.base_url + path, headers=headers, params=params, json=body
                ) as response:
                    reached = True
                    if response.status >= 500:
                        last_problem = f"HTTP {response.status}"
                        continue
                    self.answers += 1
                    payload = await response.json(content_type=None)
                    if response.status >= 400:
                        error = payload.get("error") if isinstance(payload, dict) else None
                        raise BackendRejected(response.status, error if isinstance(error, dict) else {})
                    return payload if isinstance(payload, dict) else {}
            except aiohttp.ClientConnectorError as exc:  # never connected: nothing was sent
                last_problem = exc.__class__.__name__
            except (aiohttp.ClientConnectionError, asyncio.TimeoutError, aiohttp.ContentTypeError, ValueError) as exc:
                reached = True  # a timeout may be the connect's, but it may be the answer's: assume sent
                last_problem = exc.__class__.__name__
        # Only the method and path: bodies and query strings hold patient references.
        log.warning(
            "backend unavailable: %s %s after %d attempts (%s)", method, path.split("?")[0], attempts, last_problem
        )
        raise BackendUnavailable(last_problem, maybe_applied=reached)
