"""Getting replies to the worker through the Graph API, in order, without losing one.

Each reply is sent with retries (``graph.with_retries``). When Meta stays
unreachable past them, the reply is kept in the channel state and sent by a
background task once the Graph API answers again. A reply Meta refuses for
good (say, the worker's 24-hour window has closed) is dropped with its error
code in the log; retrying could not help.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from assistant.channels.state import ChannelState
from assistant.channels.whatsapp.graph import GraphClient, GraphError

log = logging.getLogger(__name__)

NAMESPACE = "whatsapp"


class Delivery:
    def __init__(self, graph: GraphClient, state: ChannelState) -> None:
        self.graph = graph
        self.state = state
        self._flush_lock = asyncio.Lock()

    async def send(self, business_number_id: str, bodies: list[dict[str, Any]]) -> None:
        """Send in order; once one waits for later delivery, the rest of the turn waits behind it."""
        await self.flush()
        still_waiting = bool(await self.state.undelivered(NAMESPACE, limit=1))
        for body in bodies:
            if not still_waiting:
                try:
                    await self.graph.send(business_number_id, body)
                    continue
                except GraphError as error:
                    if not error.retryable:
                        log.error("WhatsApp reply dropped: %s", error)
                        continue
                    log.warning("WhatsApp reply kept for later delivery: %s", error)
                    still_waiting = True
            await self.state.keep_undelivered(NAMESPACE, {"business_number_id": business_number_id}, body)

    async def flush(self) -> int:
        """Send what waits, oldest first; stop at the first that still fails. Returns the number sent."""
        sent = 0
        async with self._flush_lock:
            for reply in await self.state.undelivered(NAMESPACE):
                try:
                    await self.graph.send(reply.route["business_number_id"], reply.payload)
                    sent += 1
                except GraphError as error:
                    if error.retryable:
                        await self.state.delivery_failed(reply.id)
                        break
                    log.error("waiting WhatsApp reply dropped: %s", error)
                await self.state.delivered(reply.id)
        if sent:
            log.info("delivered %d waiting WhatsApp replies", sent)
        return sent

    async def keep_flushing(self, interval_seconds: float) -> None:
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                await self.flush()
            except Exception:  # the loop must outlive a bad moment of the state database
                log.exception("redelivery of waiting WhatsApp replies failed")
