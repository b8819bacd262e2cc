"""A message sent again after its first try was cut off is answered from the conversation, not run twice.

A channel claims each message id before the turn runs (``ChannelState.claim``).
If the process dies, or the turn is cancelled, after Rasa saved the turn but
before the claim was marked done, the claim is later taken over (or was
released), and running the message again would make it a second turn: a
"skip" meant for one question would answer the next. Rasa keeps each user
message's id on its event, so before running a retried message the channel
asks the conversation whether it already holds it, and if so replies with
what the bot said after it.
"""

from __future__ import annotations

from typing import Any

from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.events import BotUttered, UserUttered


async def answer_on_record(tracker_store: TrackerStore, sender_id: str, message_id: str) -> list[dict[str, Any]] | None:
    """The bot's messages that answered ``message_id``, or None if the conversation has no such message."""
    tracker = await tracker_store.retrieve(sender_id)
    if tracker is None:
        return None
    events = list(tracker.events)
    for index, event in enumerate(events):
        if isinstance(event, UserUttered) and event.message_id == message_id:
            replies = []
            for later in events[index + 1 :]:
                if isinstance(later, UserUttered):
                    break
                if isinstance(later, BotUttered):
                    said = later.message().items()  # as the channel sent it: no timestamp, no empty fields
                    replies.append({key: value for key, value in said if value is not None and key != "timestamp"})
            return replies
    return None
