"""Every turn gets an answer, even when an action cannot run.

Rasa 3.6 logs an action that raised (the action server killed or restarting,
or an action that failed inside it) and carries on with that action's events
lost. The worker gets an empty reply, and on a headset hears nothing at all.

Here such a turn ends instead with a short apology in the worker's language
(the domain's ``utter_action_failed``: "Sorry, I could not do that just now.
Please say it again."), and the turn is rewound: the conversation is exactly
where it was before the worker spoke (the same form, the same question, the
same checklist step), so saying it again carries on. The worker's words stay
in the transcript. Because idempotency keys count only the turns that stand
(``actions.context``), a booking retried this way is still made only once.

The rewind is ``UserUtteranceReverted``, followed by the slots and the active
form as they were before the message: Rasa folds the turns of a form's happy
path together, and after a form has run in the same turn a bare revert would
go back further than one message.

Rasa has no hook for any of this, so its processor's action runner is
wrapped once at start-up (``install``), for the Rasa version it was written
against. ``QuietRejections`` belongs here too: a form stepping aside is how
the dialogue works, not an error.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.actions.action import Action, ActionExecutionRejection, create_bot_utterance
from rasa.core.channels.channel import OutputChannel
from rasa.core.nlg import NaturalLanguageGenerator
from rasa.core.processor import MessageProcessor
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, Event, SlotSet, UserUtteranceReverted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from assistant.core import metrics
from assistant.core.language import detect_language
from assistant.core.vocabulary import LANGUAGES
from assistant.rasa_server.rasa_version import require_supported_rasa

log = logging.getLogger(__name__)

APOLOGY_RESPONSE = "utter_action_failed"
# Said when even the domain's response cannot be rendered: the same words (tests/test_bilingual_texts.py).
FALLBACK_TEXT = {
    "en": "Sorry, I could not do that just now. Please say it again.",
    "hi": "माफ़ कीजिए, अभी यह नहीं हो सका। कृपया फिर से बोलिए।",
}
LANGUAGE_SLOT = "language"  # domain.yml: the reply language
_INSTALLED = "_assistant_apologises_for_failed_actions"


class _ActionFailed(BaseException):
    """Carries an action's failure past Rasa's catch-all ``except Exception``, before it logs the action."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(type(cause).__name__)
        self.kind = type(cause).__name__


def _in_the_workers_language(tracker: DialogueStateTracker, domain: Domain) -> DialogueStateTracker:
    """A copy whose ``language`` slot is the message's: the action that would set it may be the one that failed."""
    latest = tracker.latest_message
    reported = (latest.metadata or {}).get("language") if latest else None
    current = str(tracker.get_slot(LANGUAGE_SLOT) or "en")
    language = reported if reported in LANGUAGES else detect_language((latest.text if latest else "") or "", current)
    speaking = tracker.copy()
    speaking.update(SlotSet(LANGUAGE_SLOT, language), domain)
    return speaking


def _state_before_the_message(tracker: DialogueStateTracker, domain: Domain) -> DialogueStateTracker:
    events = list(tracker.events)
    last_user = max(
        (index for index, event in enumerate(events) if isinstance(event, UserUttered)), default=len(events)
    )
    return DialogueStateTracker.from_events(tracker.sender_id, events[:last_user], slots=domain.slots)


async def rewind_with_apology(
    tracker: DialogueStateTracker, domain: Domain, output_channel: OutputChannel, nlg: NaturalLanguageGenerator
) -> list[Event]:
    """The apology, then the turn undone, and the bot listening again as after any turn."""
    message: dict[str, Any] = {}
    language = "en"
    try:
        speaking = _in_the_workers_language(tracker, domain)
        language = "hi" if speaking.get_slot(LANGUAGE_SLOT) == "hi" else "en"
        message = await nlg.generate(APOLOGY_RESPONSE, speaking, output_channel.name()) or {}
    except Exception:  # the apology must not fail in turn
        log.exception("cannot render %s", APOLOGY_RESPONSE)
    said = message.get("text") or FALLBACK_TEXT[language]
    apology = create_bot_utterance({**message, "text": said, "utter_action": APOLOGY_RESPONSE})
    events: list[Event] = [apology, UserUtteranceReverted()]
    before = _state_before_the_message(tracker, domain)
    rewound = tracker.copy()
    for event in events:
        rewound.update(event, domain)
    if rewound.active_loop_name != before.active_loop_name:
        events.append(ActiveLoop(before.active_loop_name))
    events += [
        SlotSet(name, before.get_slot(name)) for name in before.slots if rewound.get_slot(name) != before.get_slot(name)
    ]
    return [*events, ActionExecuted(ACTION_LISTEN_NAME)]


class QuietRejections(logging.Filter):
    """A form stepping aside for another request is dialogue, not an error.

    The action server rejects a form's turn that asked for something else
    (``actions.flow_requests``); Rasa 3.6 logs every rejection at ERROR.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and record.getMessage().endswith("rejected execution."):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


def install() -> None:
    """Wrap ``MessageProcessor._run_action`` (idempotent)."""
    require_supported_rasa(__name__)
    original = MessageProcessor._run_action
    if getattr(original, _INSTALLED, False):
        return

    async def run_action(
        self: MessageProcessor,
        action: Action,
        tracker: DialogueStateTracker,
        output_channel: OutputChannel,
        nlg: NaturalLanguageGenerator,
        prediction: Any,
    ) -> bool:
        if action.name() == ACTION_LISTEN_NAME:
            return await original(self, action, tracker, output_channel, nlg, prediction)
        inner = action.run

        async def guarded(*args: Any, **kwargs: Any) -> list[Event]:
            try:
                return await inner(*args, **kwargs)
            except ActionExecutionRejection:
                raise  # a form stepping aside is part of the dialogue, not a failure
            except Exception as exc:
                raise _ActionFailed(exc) from None

        action.run = guarded
        try:
            return await original(self, action, tracker, output_channel, nlg, prediction)
        except _ActionFailed as failure:
            metrics.ACTION_FAILURES.labels(metrics.action_label(action.name())).inc()
            # The exception's text can hold the action server's reply, which
            # holds the tracker: only its kind is logged.
            log.warning(
                "action %s could not run (%s); the worker is asked to say it again", action.name(), failure.kind
            )
            events = await rewind_with_apology(tracker, self.domain, output_channel, nlg)
            for event in events:
                tracker.update(event, self.domain)
            await self.execute_side_effects(events, tracker, output_channel)
            return False  # the turn is over: wait for the worker
        finally:
            del action.run

    setattr(run_action, _INSTALLED, True)
    MessageProcessor._run_action = run_action
    logging.getLogger("rasa.core.actions.action").addFilter(QuietRejections())
