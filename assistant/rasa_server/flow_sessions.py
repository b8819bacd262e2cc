"""A conversation session also ends between flows, so a turn costs the same at the end of a day as at its start.

A worker's sender id is their worker id, and a busy worker is never idle for
``session_expiration_time``: their session would grow all day. Rasa loads the
whole current session on every turn (rebuilding each event), the policies walk
its states, and the action server receives it with each custom action call, so
the 500th turn of a day cost several times the 5th.

Here the session also ends at the worker's next message once the conversation
is between flows (no form and no checklist open) and the session holds
``SESSION_TURNS_BEFORE_FLOW_BREAK`` turns. It is Rasa's own session start
(``action_session_start``): the slots are carried over
(``carry_over_slots_to_new_session``, each slot's last value once), the idempotency keys of the new session
are new (``actions.context``), and the earlier sessions stay in the tracker
store, where the supervisor console reads them all.

Rasa has no hook for this, so its processor's expiry check is wrapped once at
start-up (``install``), for the Rasa version it was written against.
"""

from __future__ import annotations

from rasa.core.actions.action import ActionSessionStart
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from assistant.core.rules import SESSION_TURNS_BEFORE_FLOW_BREAK
from assistant.rasa_server.rasa_version import require_supported_rasa

# Slots that hold an open flow outside Rasa's forms (domain.yml).
OPEN_FLOW_SLOTS = ("checklist",)
_INSTALLED = "_assistant_ends_sessions_between_flows"


def between_flows(tracker: DialogueStateTracker) -> bool:
    """No form and no checklist open, and the session has held enough turns to be worth ending."""
    if tracker.active_loop_name is not None:
        return False
    if any(tracker.get_slot(name) for name in OPEN_FLOW_SLOTS):
        return False
    return turns_in_session(tracker) >= SESSION_TURNS_BEFORE_FLOW_BREAK


def turns_in_session(tracker: DialogueStateTracker) -> int:
    """The worker's messages since the session started (all of them: Rasa's applied events fold a form's)."""
    turns = 0
    for event in reversed(tracker.events):
        if isinstance(event, SessionStarted):
            break
        turns += isinstance(event, UserUttered)
    return turns


def carried_slots(tracker: DialogueStateTracker) -> list[SlotSet]:
    """Each slot's value as the session ends, once: Rasa's own carry-over copies every ``SlotSet`` of the
    session (the carried ones too), so each new session would start longer than the one before."""
    return [SlotSet(name, value) for name, value in tracker.current_slot_values().items() if value is not None]


def install() -> None:
    if getattr(MessageProcessor, _INSTALLED, False):
        return
    require_supported_rasa(__name__)
    expired = MessageProcessor._has_session_expired

    def has_session_expired(self: MessageProcessor, tracker: DialogueStateTracker) -> bool:
        if expired(self, tracker):
            return True
        return bool(self.domain.session_config.are_sessions_enabled() and between_flows(tracker))

    MessageProcessor._has_session_expired = has_session_expired
    ActionSessionStart._slot_set_events_from_tracker = staticmethod(carried_slots)
    setattr(MessageProcessor, _INSTALLED, True)
