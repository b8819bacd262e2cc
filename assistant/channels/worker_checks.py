"""Whether the worker behind a channel's caller may still use the assistant.

The backend decides, and each answer is kept for ``IDENTITY_RECHECK_SECONDS``,
so a worker deactivated (or a token revoked) is refused within 30 seconds
everywhere (``assistant.core.rules``). Offline first, as for messaging
senders (``identities``): while the hub cannot be reached, a token the
backend accepted before keeps working, and a signed-in web session stays
signed in. Nobody is refused because the hub was down, only on its word.
"""

from __future__ import annotations

import logging
from typing import Any

from assistant.channels.http_errors import Refused
from assistant.channels.identities import CHAT_ROLE
from assistant.channels.state import ChannelState
from assistant.core.cache import TTLCache
from assistant.core.rules import IDENTITY_RECHECK_SECONDS
from assistant.http.backend_client import BackendClient, BackendRejected, BackendUnavailable

log = logging.getLogger(__name__)

TOKEN_CHANNEL = "rest"  # the state table's channel for remembered REST tokens


class WorkerChecks:
    def __init__(self, backend: BackendClient, state: ChannelState, ttl: float = IDENTITY_RECHECK_SECONDS) -> None:
        self.backend = backend
        self.state = state
        self._token_workers: TTLCache[dict[str, Any]] = TTLCache(ttl)
        self._active: TTLCache[bool] = TTLCache(ttl)

    async def token_worker(self, token: str) -> dict[str, Any]:
        """The active field worker a backend ``worker`` token belongs to, else ``Refused``."""
        identity = "token:" + token
        key = self.state.identity_hash(identity)
        found = self._token_workers.get(key)
        if found is not None:
            return found
        try:
            owner = await self.backend.token_owner(token)
        except BackendRejected as exc:
            await self.state.forget_sender(TOKEN_CHANNEL, identity)
            if exc.code == "inactive_worker":
                raise Refused(403, "inactive_worker", "This worker has been deactivated.") from None
            raise Refused(401, "unauthorized", "The token is not valid (expired or revoked?).") from None
        except BackendUnavailable as exc:
            remembered = await self.state.known_sender(TOKEN_CHANNEL, identity)
            if remembered is None:
                raise Refused(503, "unavailable", "The hub cannot check this token right now; try again.") from None
            log.info("backend unavailable (%s): using the remembered token of worker %s", exc, remembered["id"])
            return remembered
        worker = owner.get("worker")
        if owner.get("role") != CHAT_ROLE or not isinstance(worker, dict):
            raise Refused(403, "forbidden", "This channel takes a field worker's own token.")
        await self.state.remember_sender(TOKEN_CHANNEL, identity, worker)
        self._token_workers.put(key, worker)
        return worker

    async def still_active(self, worker_id: str) -> bool:
        """False once the backend says the worker is deactivated or gone."""
        known = self._active.get(worker_id)
        if known is not None:
            return known
        try:
            worker = await self.backend.worker(worker_id)
        except BackendUnavailable as exc:
            log.info("backend unavailable (%s): worker %s stays signed in", exc, worker_id)
            return True
        active = worker is not None and bool(worker.get("active"))
        self._active.put(worker_id, active)
        return active
