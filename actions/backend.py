"""The one client of the scheduling backend (docs/contracts.md), on aiohttp.

Every request carries the service token and ``X-On-Behalf-Of: <worker id>``.
Failures split in two:

- ``BackendUnavailable``: connection refused, timeout or a 5xx, after bounded
  retries with backoff. Writes then go to the offline outbox.
- ``BackendRejected``: a 4xx with the backend's error body. Retrying cannot
  help; the worker hears the reason.

Retrying a POST is safe because every write sends an ``Idempotency-Key``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Mapping, Optional

import aiohttp

log = logging.getLogger(__name__)

ON_BEHALF_HEADER = "X-On-Behalf-Of"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class BackendUnavailable(Exception):
    """The backend could not be reached or did not answer in time."""


class BackendRejected(Exception):
    """The backend answered with a 4xx: the request itself is wrong or not allowed."""

    def __init__(self, status: int, code: str, message: str, field: Optional[str] = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field

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
    def __init__(self, base_url: str, token: str, timeouts: Timeouts = Timeouts(), default_worker: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._timeouts = timeouts
        self._default_worker = default_worker

    # --- consults ---------------------------------------------------------------
    async def create_consult(self, worker_id: str, body: Mapping[str, Any], key: str) -> dict[str, Any]:
        return await self.post("/consults", worker_id, body, key)

    async def open_consults(self, worker_id: str) -> list[dict[str, Any]]:
        """The worker's consults that can still be cancelled, newest first."""
        page = await self.get("/consults", worker_id, {"requested_by": worker_id, "limit": "50"})
        return [item for item in page.get("items", []) if item.get("status") in ("requested", "scheduled")]

    async def cancel_consult(self, worker_id: str, consult_id: int, key: str) -> dict[str, Any]:
        return await self.post(f"/consults/{int(consult_id)}/cancel", worker_id, {}, key)

    # --- encounters --------------------------------------------------------------
    async def create_encounter(self, worker_id: str, body: Mapping[str, Any], key: str) -> dict[str, Any]:
        return await self.post("/encounters", worker_id, body, key)

    # --- checklists ---------------------------------------------------------------
    async def checklists(self, worker_id: str) -> list[dict[str, Any]]:
        return (await self.get("/checklists", worker_id)).get("items", [])

    async def checklist(self, worker_id: str, slug: str, language: str) -> dict[str, Any]:
        return await self.get(f"/checklists/{slug}", worker_id, {"lang": language})

    # --- transport -------------------------------------------------------------------
    async def get(self, path: str, worker_id: str, params: Optional[Mapping[str, str]] = None) -> dict[str, Any]:
        return await self._request("GET", path, worker_id, params=params)

    async def post(self, path: str, worker_id: str, body: Mapping[str, Any], key: str) -> dict[str, Any]:
        return await self._request("POST", path, worker_id, body=body, key=key)

    async def _request(self, method: str, path: str, worker_id: str, **options: Any) -> dict[str, Any]:
        try:
            return await self._send(method, path, worker_id, **options)
        except BackendRejected as rejected:
            # Decided here rather than per turn so that a record queued
            # offline for an unregistered sender is attributed the same way
            # when the outbox delivers it.
            if rejected.code != "unknown_worker" or not self._default_worker or worker_id == self._default_worker:
                raise
        log.info("sender is not a registered worker; acting for the default worker")
        params = options.get("params") or {}
        options["params"] = {name: self._default_worker if value == worker_id else value for name, value in params.items()}
        return await self._send(method, path, self._default_worker, **options)

    async def _send(
        self,
        method: str,
        path: str,
        worker_id: str,
        *,
        params: Optional[Mapping[str, str]] = None,
        body: Optional[Mapping[str, Any]] = None,
        key: Optional[str] = None,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._token}", ON_BEHALF_HEADER: worker_id}
        if key:
            headers[IDEMPOTENCY_HEADER] = key
        timeout = aiohttp.ClientTimeout(total=self._timeouts.total, connect=self._timeouts.connect)
        delay = self._timeouts.backoff
        last_problem = ""
        for attempt in range(self._timeouts.retries + 1):
            if attempt:
                await asyncio.sleep(delay)
                delay *= 2
            try:
                async with aiohttp.ClientSession(timeout=timeout) as session:
                    async with session.request(method, self.base_url + path, headers=headers, params=params, json=body) as response:
                        if response.status >= 500:
                            last_problem = f"HTTP {response.status}"
                            continue
                        payload = await response.json(content_type=None)
                        if response.status >= 400:
                            error = (payload or {}).get("error", {}) if isinstance(payload, dict) else {}
                            raise BackendRejected(
                                response.status,
                                str(error.get("code", "error")),
                                str(error.get("message", "")),
                                error.get("field"),
                            )
                        return payload if isinstance(payload, dict) else {}
            except (aiohttp.ClientConnectionError, asyncio.TimeoutError, aiohttp.ContentTypeError, ValueError) as exc:
                last_problem = exc.__class__.__name__
        # Only the method and path: bodies and query strings hold patient references.
        log.warning("backend unavailable: %s %s after %d attempts (%s)", method, path.split("?")[0], self._timeouts.retries + 1, last_problem)
        raise BackendUnavailable(last_problem)
