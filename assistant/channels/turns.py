"""One user turn through Rasa, as any channel runs it: the worker speaks, the bot's messages come back.

The sender id is always the worker id (docs/contracts.md). The bot's
messages are collected for the whole turn; a question's choices and what
input comes next travel in them (``assistant.core.dialogue``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


async def run_turn(
    on_new_message: OnNewMessage,
    *,
    channel: str,
    worker_id: str,
    text: str,
    metadata: dict[str, Any],
    message_id: str | None = None,
) -> list[dict[str, Any]]:
    collector = CollectingOutputChannel()
    await on_new_message(
        UserMessage(text, collector, worker_id, input_channel=channel, metadata=metadata, message_id=message_id)
    )
    return [{key: value for key, value in message.items() if key != "recipient_id"} for message in collector.messages]
