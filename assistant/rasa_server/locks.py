"""Rasa's Redis lock store, knowing who holds each ticket: a server killed mid-turn is not waited for.

Every turn holds its conversation's lock (Rasa's ticket lock, shared by the
Rasa servers of a district through Redis). A ticket lives ``lock_lifetime``
(Rasa's 60 s): a server killed mid-turn leaves its ticket behind, and the
worker's retry on another server would wait out that minute. Here each
ticket's holder (``assistant.core.liveness``) is kept beside the lock, under
the same lifetime; a server waiting for the lock drops the tickets of holders
that are provably gone (same machine, process ended), as it drops expired ones.
A holder on another machine keeps its ticket until it expires, as in Rasa.
"""

from __future__ import annotations

import math

from rasa.core.lock_store import LOCK_LIFETIME, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from assistant.core import liveness


class HeldRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig) -> None:
        # Rasa makes a lock store of a class path with the endpoint config alone; its kwargs are Redis's.
        super().__init__(host=endpoint_config.url, **endpoint_config.kwargs)

    def _holder_key(self, conversation_id: str, ticket: int) -> str:
        # Worker ids hold no ":", so no conversation's own lock key looks like this.
        return f"{self.key_prefix}holder:{conversation_id}:{ticket}"

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        ticket = super().issue_ticket(conversation_id, lock_lifetime)
        self.red.set(
            self._holder_key(conversation_id, ticket), liveness.this_process(), ex=max(1, math.ceil(lock_lifetime))
        )
        return ticket

    def update_lock(self, conversation_id: str) -> None:
        """Between tries to acquire (Rasa's loop): drop expired tickets, and those of holders that are gone."""
        lock = self.get_lock(conversation_id)
        if not lock:
            return
        lock.remove_expired_tickets()
        for ticket in list(lock.tickets):
            holder = self.red.get(self._holder_key(conversation_id, ticket.number))
            if holder is not None and liveness.gone(holder.decode()):
                lock.remove_ticket_for(ticket.number)
        self.save_lock(lock)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        super().finish_serving(conversation_id, ticket_number)
        self.red.delete(self._holder_key(conversation_id, ticket_number))
