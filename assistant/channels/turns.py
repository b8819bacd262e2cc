"""One user turn through Rasa, as any channel runs it: the worker speaks, the bot's messages come back.

The sender id is always the worker id (docs/contracts.md). The bot's
messages are collected for the whole turn and given the quick replies the
dialogue state offers, so every channel shows the same choices.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from assistant.channels import quick_replies

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


async def slots_of(agent: Any, worker_id: str) -> dict[str, Any]:
    tracker = await agent.tracker_store.retrieve(worker_id) if agent is not None else None
    return tracker.current_slot_values() if tracker is not None else {}


async def run_turn(on_new_message: OnNewMessage, agent: Any, *, channel: str, worker_id: str, text: str,
                   metadata: dict[str, Any], message_id: Optional[str] = None) -> list[dict[str, Any]]:
    collector = CollectingOutputChannel()
    await on_new_message(
        UserMessage(text, collector, worker_id, input_channel=channel, metadata=metadata, message_id=message_id)
    )
    messages = [{key: value for key, value in message.items() if key != "recipient_id"} for message in collector.messages]
    return quick_replies.attach(messages, quick_replies.for_state(await slots_of(agent, worker_id)))
