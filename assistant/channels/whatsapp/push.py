"""Hub notices pushed to WhatsApp workers without waiting for them to write, through the Cloud API or Twilio.

Every ``hub_notice_push_seconds`` a background task of the Rasa process
reads the worker outbox for consults asked for on WhatsApp. Each notice is
handled under the worker's conversation lock (``hub_notices.conversation``):

1. Already told in the conversation (an earlier round, another server, or a
   turn of the worker's that told it first): it is only marked delivered.
2. Else the message depends on WhatsApp's 24-hour customer-service window:
   the worker's latest message through the app under 24 hours old gets plain
   text; an older one, or none, gets the approved template with the text as
   its one parameter. With no template configured the notice stays pending
   (one warning) and is told at the start of the worker's next message.
3. It is queued in the channel state under ``hub-notice:<id>``: once only,
   however many servers queue it. Then it is told in the conversation and
   marked delivered. ``Delivery`` sends it, with its per-worker order, waits,
   retries and dead letters.

A worker without a number on record (one who writes with a business-scoped
user id only) is told at their next message instead. When both apps push
from one deployment, each takes the workers whose latest message came
through it, and the Cloud API takes those who never wrote.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assistant.channels.notice_delivery import Notice, NoticeDesk, conversation
from assistant.channels.whatsapp.delivery import Delivery
from assistant.core.periodic import every
from assistant.core.phones import phone_digits
from assistant.core.vocabulary import CHANNELS

log = logging.getLogger(__name__)

WINDOW = dt.timedelta(hours=24)  # Meta's customer-service window: free-form messages only inside it
KEY = "hub-notice:{id}"
# Rasa's input channel of a worker's messages through each app (the Cloud API's, Twilio's).
MESSAGING_INPUTS = ("whatsapp", "twilio_whatsapp")
# The consults' channels whose notices are pushed (Twilio's consults are WhatsApp's too).
PUSHED_CHANNELS = tuple(channel for channel in ("whatsapp", "twilio") if channel in CHANNELS)

Bodies = Callable[[str, str], list[dict[str, Any]]]  # (the worker's number in digits, the text) -> message bodies


@dataclass(frozen=True)
class PushRoute:
    """One way out to WhatsApp and what it sends."""

    via: str  # what the delivered mark says: "whatsapp" or "twilio"
    input_channel: str  # Rasa's input channel of the worker's messages through this app
    business_number_id: str  # our number the notices leave from
    delivery: Delivery
    text_bodies: Bodies
    template_bodies: Bodies | None  # None: no template configured
    shared: bool = False  # the other app pushes from this deployment too
    takes_newcomers: bool = True  # when shared: whether workers who never wrote are this route's

    def owns(self, last_input_channel: str | None) -> bool:
        if not self.shared:
            return True
        if last_input_channel is None:
            return self.takes_newcomers
        return last_input_channel == self.input_channel


class NoticePusher:
    def __init__(self, desk: NoticeDesk, route: PushRoute, *, now: Callable[[], float] = time.time) -> None:
        self.desk = desk
        self.route = route
        self.now = now
        self._warned: set[int] = set()

    async def push(self, agent: Any) -> int:
        """One round over the pending WhatsApp notices; returns how many this server queued."""
        by_worker: dict[str, list[Notice]] = {}
        for notice in await self.desk.pending(channels=PUSHED_CHANNELS):
            by_worker.setdefault(notice.worker_id, []).append(notice)
        queued = 0
        for worker_id, notices in by_worker.items():
            queued += await self._push_to(agent, worker_id, notices)
        if queued:
            await self.route.delivery.flush()  # now rather than at the redelivery's next round
        return queued

    async def _push_to(self, agent: Any, worker_id: str, notices: list[Notice]) -> int:
        settled: list[Notice] = []
        queued = 0
        async with conversation(agent, worker_id) as talk:
            last = talk.last_message_from(MESSAGING_INPUTS)
            if not self.route.owns(last.input_channel if last is not None else None):
                return 0
            window_open = last is not None and self.now() - float(last.timestamp) < WINDOW.total_seconds()
            for notice in notices:
                if not talk.has(notice):
                    bodies = self._bodies(notice, talk.language, window_open)
                    if not bodies:
                        continue
                    key = KEY.format(id=notice.id)
                    if await self.route.delivery.enqueue(self.route.business_number_id, worker_id, bodies, key):
                        queued += 1
                    talk.tell(notice)
                settled.append(notice)
        await self.desk.mark_delivered(settled, self.route.via)
        return queued

    def _bodies(self, notice: Notice, language: str, window_open: bool) -> list[dict[str, Any]]:
        phone = phone_digits(notice.phone or "")
        if not phone:
            self._wait(notice, "no phone number on record")
            return []
        text = notice.text(language)
        if window_open:
            return self.route.text_bodies(phone, text)
        if self.route.template_bodies is None:
            self._wait(notice, "the 24-hour window is closed and no notice template is configured")
            return []
        # A template parameter may hold no line breaks or runs of spaces.
        return self.route.template_bodies(phone, " ".join(text.split()))

    def _wait(self, notice: Notice, why: str) -> None:
        if notice.id not in self._warned:
            self._warned.add(notice.id)
            log.warning(
                "hub notice %d for worker %s not pushed through %s (%s): it waits for the worker's next message",
                notice.id,
                notice.worker_id,
                self.route.via,
                why,
            )

    async def keep_pushing(self, agent: Callable[[], Any], interval_seconds: float) -> None:
        await every(
            interval_seconds,
            lambda: self.push(agent()),
            f"push of hub notices through {self.route.via}",
            first_delay=interval_seconds,
        )
