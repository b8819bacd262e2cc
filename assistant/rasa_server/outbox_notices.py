"""A queued record the hub refused for good is told to its worker at their next turn.

The worker heard "saved on this phone" when the record went into the action
server's outbox (``actions.outbox``). If the hub later refuses it (a 4xx no
retry can fix), the worker must not go on believing it was sent: their next
message, on whichever channel, is answered first with, say, "The visit for
patient 4521 could not be sent: the hub did not accept the age. Please log it
again, or ask your supervisor."

The notice is a bot message of the conversation (so the supervisor's
transcript shows it too), added before the turn's own reply. Each rejected
row is announced once: ``announced_at`` is set with a conditional UPDATE, so
two Rasa servers sharing the data directory never both say it.

The outbox belongs to the action server; this process only reads and marks
it, and says nothing while the file or its columns do not exist yet. Rasa has
no hook for this; its processor's prediction loop is wrapped at start-up.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import OutputChannel
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import BotUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from assistant.core.config import load_settings
from assistant.core.vocabulary import SPECIALTIES
from assistant.db.device import connect
from assistant.db.device import outbox_table as outbox

log = logging.getLogger(__name__)

LANGUAGE_SLOT = "language"
_INSTALLED = "_assistant_announces_rejected_records"

NOTICE = {
    "encounter": {
        "en": "The visit for patient {patient} could not be sent: {reason}. "
        "Please log it again, or ask your supervisor.",
        "hi": "मरीज़ {patient} की विज़िट भेजी नहीं जा सकी: {reason}। कृपया फिर से दर्ज करें, या अपने सुपरवाइज़र से पूछें।",
    },
    "consult": {
        "en": "The {specialty} consult request for patient {patient} could not be sent: {reason}. "
        "Please request it again, or ask your supervisor.",
        "hi": "मरीज़ {patient} के लिए {specialty} कंसल्ट का अनुरोध भेजा नहीं जा सका: {reason}। "
        "कृपया फिर से अनुरोध करें, या अपने सुपरवाइज़र से पूछें।",
    },
}
# Why, from the code the outbox kept (``last_error``: "<status> <code> [<field>]"), never the record's content.
NOT_ACCEPTED = {"en": "the hub did not accept the {field}", "hi": "हब ने {field} स्वीकार नहीं किया"}
NOT_ACTIVE = {"en": "your account was not active at the hub", "hi": "हब पर आपका खाता सक्रिय नहीं था"}
REASONS = {
    "validation_error": NOT_ACCEPTED,
    "unknown_value": NOT_ACCEPTED,
    "unknown_worker": NOT_ACTIVE,
    "inactive_worker": NOT_ACTIVE,
}
OTHER_REASON = {"en": "the hub refused it ({code})", "hi": "हब ने इसे अस्वीकार किया ({code})"}
SOME_FIELD = {"en": "details", "hi": "जानकारी"}


@dataclass(frozen=True)
class Rejected:
    id: int
    kind: str
    payload: dict[str, Any]
    error: str  # "<status> <code> [<field>]"


def notice_text(item: Rejected, language: str) -> str:
    language = language if language in ("en", "hi") else "en"
    _status, code, field = ([*item.error.split(), "", "", ""])[:3]
    reason_template = REASONS.get(code, OTHER_REASON)[language]
    reason = reason_template.format(field=field.replace("_", " ") or SOME_FIELD[language], code=code or "error")
    code_of_specialty = str(item.payload.get("specialty") or "")
    specialty = SPECIALTIES.get(code_of_specialty, {}).get(language) or code_of_specialty.replace("_", " ")
    template = NOTICE.get(item.kind, NOTICE["encounter"])[language]
    said = template.format(patient=item.payload.get("patient_ref") or "?", specialty=specialty, reason=reason)
    return " ".join(said.split())  # one space where a value was empty


class RejectedRecords:
    """The outbox rows of a worker that the hub rejected and nobody has told them about yet."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._engine: Engine | None = None

    def take(self, worker_id: str) -> list[Rejected]:
        """Each unannounced rejection of ``worker_id``, marked announced (by this call only)."""
        try:
            engine = self._engine or connect(self._data_dir)
            self._engine = engine
            with engine.connect() as connection:
                rows = connection.execute(
                    select(outbox.c.id, outbox.c.kind, outbox.c.payload, outbox.c.last_error)
                    .where(
                        outbox.c.worker_id == worker_id,
                        outbox.c.status == "rejected",
                        outbox.c.announced_at.is_(None),
                    )
                    .order_by(outbox.c.id)
                ).all()
            taken = []
            for row in rows:
                with engine.begin() as connection:
                    marked = connection.execute(
                        update(outbox)
                        .where(outbox.c.id == row.id, outbox.c.announced_at.is_(None))
                        .values(announced_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
                    ).rowcount
                if marked:
                    taken.append(Rejected(row.id, row.kind, json.loads(row.payload), row.last_error or ""))
            return taken
        except OperationalError:
            return []  # no outbox yet (the action server has not started) or an older schema: nothing to say


async def announce(
    records: RejectedRecords, processor: MessageProcessor, tracker: DialogueStateTracker, output: OutputChannel
) -> None:
    rejected = await asyncio.to_thread(records.take, tracker.sender_id)
    if not rejected:
        return
    language = str(tracker.get_slot(LANGUAGE_SLOT) or "en")
    notices = [BotUttered(notice_text(item, language), metadata={"outbox": "rejected"}) for item in rejected]
    for notice in notices:
        tracker.update(notice, processor.domain)
    await processor.execute_side_effects(list(notices), tracker, output)
    log.info("told worker of %d record(s) the hub rejected", len(notices))


def install(records: RejectedRecords | None = None) -> None:
    """Wrap ``MessageProcessor._run_prediction_loop`` (idempotent)."""
    original = MessageProcessor._run_prediction_loop
    if getattr(original, _INSTALLED, False):
        return
    found = records or RejectedRecords(load_settings().data_dir)

    async def run_prediction_loop(self: MessageProcessor, output_channel: OutputChannel, tracker: Any) -> None:
        try:
            await announce(found, self, tracker, output_channel)
        except Exception:  # the turn itself must be answered whatever happens here
            log.exception("could not check for rejected records")
        await original(self, output_channel, tracker)

    setattr(run_prediction_loop, _INSTALLED, True)
    MessageProcessor._run_prediction_loop = run_prediction_loop
