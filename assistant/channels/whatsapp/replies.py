"""A turn's bot messages to one WhatsApp user, as Graph API messages, in order."""

from __future__ import annotations

from hashlib import sha256
from typing import Any

from assistant.channels.numbered_choices import choices_of
from assistant.channels.state import ChannelState, Expected
from assistant.channels.whatsapp.delivery import NAMESPACE, Delivery
from assistant.channels.whatsapp.outbound import Recipient, choice_bodies
from assistant.core.dialogue import NextInput

# A message id up to this long is the key itself (with "turn:" and "/<index>" it fits the column).
TURN_KEY_ID_LIMIT = 100


class WhatsAppReplies:
    """Bound to the number that wrote: Rasa's recipient id is the worker id, not an address.

    ``reply_key``: the inbound message's id. The replies are queued under keys made from it
    (``Delivery.send``), so answering the message again (its redelivery, on any server) sends nothing twice.
    """

    def __init__(
        self,
        delivery: Delivery,
        state: ChannelState,
        recipient: Recipient,
        business_number_id: str,
        reply_key: str | None = None,
    ) -> None:
        self.delivery = delivery
        self.state = state
        self.recipient = recipient
        self.business_number_id = business_number_id
        self.reply_key = reply_key

    async def deliver(self, worker_id: str | None, messages: list[dict[str, Any]]) -> None:
        bodies: list[dict[str, Any]] = []
        numbered: list[str] = []
        for message in messages:
            # A custom payload is a signal for screens (e.g. {"outbox": "queued"}); the text that
            # comes with it already tells a WhatsApp user. Images and attachments are not sent.
            text = message.get("text") or ""
            choices = choices_of(message.get("buttons"))
            if not text.strip() and not choices:
                continue
            outgoing = choice_bodies(self.recipient, text, choices)
            numbered = outgoing.numbered or numbered
            bodies += outgoing.bodies
        if worker_id:
            await self.state.expect(NAMESPACE, worker_id, Expected(tuple(numbered), NextInput.of(messages).mode))
        key = turn_key(self.reply_key) if self.reply_key else None
        await self.delivery.send(self.business_number_id, worker_id, bodies, key=key)


def turn_key(message_id: str) -> str:
    """The dedupe key of the replies to one inbound message (the column holds 128; a long id is hashed)."""
    return "turn:" + (message_id if len(message_id) <= TURN_KEY_ID_LIMIT else sha256(message_id.encode()).hexdigest())
