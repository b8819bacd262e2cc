"""Who is writing: a messaging identity (phone number or business-scoped user id) -> worker.

The backend decides; its answers are remembered so that a known worker keeps
working while the hub is unreachable (offline first). An unknown sender is
only ever refused on the backend's word, never because the hub was down.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from assistant.channels.state import ChannelState
from assistant.http.backend_client import BackendClient, BackendUnavailable

log = logging.getLogger(__name__)

# The assistant books and logs clinical records, which only field workers write.
CHAT_ROLE = "worker"


@dataclass(frozen=True)
class Sender:
    phone: str | None = None
    user_id: str | None = None

    @property
    def identities(self) -> list[str]:
        found = []
        if self.user_id:
            found.append(f"user:{self.user_id}")
        if self.phone:
            found.append(f"phone:{self.phone}")
        return found


class Directory:
    def __init__(self, backend: BackendClient, state: ChannelState, channel: str = "whatsapp") -> None:
        self.backend = backend
        self.state = state
        self.channel = channel

    async def worker_for(self, sender: Sender) -> dict[str, Any] | None:
        """The registered field worker, ``None`` for a stranger; ``BackendUnavailable`` when unsure."""
        worker = await self._lookup(sender)
        return worker if worker is not None and worker.get("role") == CHAT_ROLE else None

    async def _lookup(self, sender: Sender) -> dict[str, Any] | None:
        try:
            worker = await self.backend.resolve_sender(self.channel, sender.phone, sender.user_id)
        except BackendUnavailable as exc:
            for identity in sender.identities:
                cached = await self.state.known_sender(self.channel, identity)
                if cached is not None:
                    log.info("backend unavailable (%s): using the remembered worker %s", exc, cached["id"])
                    return cached
            raise
        for identity in sender.identities:
            if worker is None:
                await self.state.forget_sender(self.channel, identity)
            else:
                await self.state.remember_sender(self.channel, identity, worker)
        return worker
