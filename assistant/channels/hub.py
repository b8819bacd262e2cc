"""The channels' calls to the scheduling backend: PIN sign-in and sender lookup.

The channels run inside ``rasa run`` and use the stack's service token
(``ASSISTANT_SERVICE_TOKEN``), like the action server does.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

import aiohttp

TIMEOUT = aiohttp.ClientTimeout(total=10)


class HubUnavailable(Exception):
    """The backend could not be reached or failed; the caller may try again later."""


class HubRefused(Exception):
    """The backend answered with a 4xx: its error body (``{"error": {...}}``) says why."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        super().__init__(error.get("message", f"HTTP {status}"))
        self.status = status
        self.error: dict[str, Any] = error


class HubClient:
    def __init__(self, base_url: str, service_token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {service_token}"}
        self._session: Optional[aiohttp.ClientSession] = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT, headers=self._headers)
        try:
            async with self._session.post(self.base_url + path, json=body) as response:
                payload = await response.json(content_type=None) if response.content_length != 0 else {}
                if response.status >= 500:
                    raise HubUnavailable(f"backend answered {response.status}")
                if response.status >= 400:
                    raise HubRefused(response.status, payload if isinstance(payload, dict) else {})
                return payload
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise HubUnavailable(f"backend unreachable ({exc.__class__.__name__})") from exc

    async def pin_login(self, worker_id: str, pin: str) -> dict[str, Any]:
        """The worker (``{"id", "name", "role", ...}``); ``HubRefused`` 401/423 for a wrong PIN or lockout."""
        return (await self._post("/auth/pin", {"worker_id": worker_id, "pin": pin}))["worker"]

    async def resolve_sender(self, channel: str, phone: Optional[str], user_id: Optional[str]) -> Optional[dict[str, Any]]:
        """The registered worker behind a messaging identity, or ``None``."""
        try:
            return (await self._post("/workers/resolve", {"channel": channel, "phone": phone, "user_id": user_id}))["worker"]
        except HubRefused as exc:
            if exc.status == 404:
                return None
            # 401/403: the service token is wrong; no retry will fix it, but no sender is refused for it either.
            raise HubUnavailable(f"backend refused the lookup ({exc.status}: {exc})") from exc
