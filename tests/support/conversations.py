"""Transcripts in Rasa's own SQL tracker store format, for console tests and bench/console.

Events are real ``rasa.shared.core.events`` objects, turned into rows exactly
as ``SQLTrackerStore.save`` does, and the table is created from Rasa's own
schema. Writing the rows in bulk is what lets the benchmark seed 100,000
conversations in seconds rather than hours.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import create_engine, insert
from sqlalchemy.engine import Engine


@dataclass
class Said:
    """One worker turn and what the assistant did with it."""

    text: str
    intent: str
    confidence: float = 0.95
    entities: Sequence[dict[str, Any]] = ()
    slots: dict[str, Any] = field(default_factory=dict)
    actions: Sequence[str] = ()
    replies: Sequence[str] = ()
    channel: str = "rest"
    asr_confidence: float | None = None
    language: str = "en"


def entity(text: str, name: str, value: str, surface: str) -> dict[str, Any]:
    start = text.index(surface)
    return {
        "entity": name,
        "value": value,
        "start": start,
        "end": start + len(surface),
        "extractor": "DIETClassifier",
        "confidence_entity": 0.97,
    }


def conversation_events(turns: Iterable[Said], start: float, step: float = 7.0) -> list[Any]:
    """A whole conversation session, as Rasa records one."""
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered

    now = start
    events: list[Any] = [
        ActionExecuted("action_session_start", timestamp=now),
        SessionStarted(timestamp=now),
        ActionExecuted("action_listen", timestamp=now),
    ]
    for turn in turns:
        now += step
        metadata: dict[str, Any] = {"channel": turn.channel, "language": turn.language, "input_mode": "command"}
        if turn.asr_confidence is not None:
            metadata["asr_confidence"] = turn.asr_confidence
        intent = {"name": turn.intent, "confidence": turn.confidence}
        events.append(
            UserUttered(
                turn.text,
                intent=intent,
                entities=list(turn.entities),
                parse_data={
                    "intent": intent,
                    "entities": list(turn.entities),
                    "text": turn.text,
                    "intent_ranking": [intent],
                },
                input_channel="rest",
                metadata=metadata,
                timestamp=now,
            )
        )
        for name, value in turn.slots.items():
            events.append(SlotSet(name, value, timestamp=now + 0.1))
        for action in turn.actions:
            events.append(ActionExecuted(action, policy="RulePolicy", confidence=1.0, timestamp=now + 0.2))
        for reply in turn.replies:
            events.append(BotUttered(reply, timestamp=now + 0.3))
        events.append(ActionExecuted("action_listen", timestamp=now + 0.4))
    return events


def event_rows(sender_id: str, events: Iterable[Any]) -> list[dict[str, Any]]:
    """Rows as ``SQLTrackerStore.save`` writes them."""
    rows = []
    for event in events:
        data = event.as_dict()
        rows.append(
            {
                "sender_id": sender_id,
                "type_name": event.type_name,
                "timestamp": data.get("timestamp"),
                "intent_name": data.get("parse_data", {}).get("intent", {}).get("name"),
                "action_name": data.get("name"),
                "data": json.dumps(data),
            }
        )
    return rows


def tracker_engine(url: str) -> Engine:
    """An engine on a tracker store with Rasa's schema in place."""
    from rasa.core.tracker_store import SQLTrackerStore

    engine = create_engine(url, future=True)
    SQLTrackerStore.Base.metadata.create_all(engine)
    return engine


def write_rows(engine: Engine, rows: Sequence[dict[str, Any]]) -> None:
    from rasa.core.tracker_store import SQLTrackerStore

    if rows:
        with engine.begin() as connection:
            connection.execute(insert(SQLTrackerStore.SQLEvent.__table__), list(rows))


# The kinds of conversation field workers have, for volume.
def _consult(rng: random.Random, channel: str) -> list[Said]:
    text = "urgent cardiology consult for patient 4521"
    return [
        Said(
            text,
            "request_consult",
            0.93,
            [entity(text, "urgency", "urgent", "urgent"), entity(text, "specialty", "cardiology", "cardiology")],
            slots={"specialty": "cardiology", "urgency": "urgent"},
            actions=["consult_form"],
            replies=["What is the reason?"],
            channel=channel,
        ),
        Said(
            "chest pain since morning",
            "inform",
            0.88,
            slots={"reason": "chest pain"},
            replies=["Book urgent cardiology for 4521?"],
            channel=channel,
        ),
        Said(
            "haan",
            "affirm",
            0.97,
            actions=["action_book_consult"],
            replies=["Booked with Dr. Kumawat at 10:30."],
            channel=channel,
        ),
    ]


def _checklist(rng: random.Random, channel: str) -> list[Said]:
    text = "hand hygiene checklist"
    steps = [
        Said(
            text,
            "get_checklist",
            0.96,
            [entity(text, "procedure", "hand_hygiene", "hand hygiene")],
            actions=["action_start_checklist"],
            replies=["Step 1 of 6: Wet hands."],
            channel=channel,
        )
    ]
    for number in range(2, rng.randint(3, 6)):
        steps.append(
            Said(
                "next",
                "next_step",
                0.99,
                actions=["action_checklist_step"],
                replies=[f"Step {number} of 6."],
                channel=channel,
            )
        )
    return steps


def _encounter(rng: random.Random, channel: str) -> list[Said]:
    return [
        Said(
            "log encounter", "log_encounter", 0.94, actions=["encounter_form"], replies=["Patient id?"], channel=channel
        ),
        Said(
            "patient 7788 age 34 female fever",
            "inform",
            0.81,
            slots={"patient_id": "7788", "age": 34, "sex": "female"},
            replies=["Vitals?"],
            channel=channel,
        ),
        Said("yes", "affirm", 0.98, actions=["action_save_encounter"], replies=["Saved."], channel=channel),
    ]


def _confused(rng: random.Random, channel: str) -> list[Said]:
    return [
        Said(
            "mausam kaisa hai",
            "nlu_fallback",
            0.31,
            actions=["utter_ask_rephrase"],
            replies=["Sorry, please say that again."],
            channel=channel,
            asr_confidence=0.42 if channel == "voice" else None,
        ),
        Said(
            "help", "help", 0.97, replies=["I can book consults, read checklists and log encounters."], channel=channel
        ),
    ]


KINDS = {"consult": _consult, "checklist": _checklist, "encounter": _encounter, "fallback": _confused}
CHANNEL_MIX = ("voice", "web", "whatsapp", "voice", "web")
# Templates are built at this time and shifted; Rasa reads a timestamp of 0 as "now".
TEMPLATE_START = 1_000_000.0


@dataclass(frozen=True)
class Synthetic:
    sender_id: str
    kind: str
    channel: str
    start: float
    rows: list[dict[str, Any]]


def synthetic_conversations(
    senders: Sequence[str], count: int, start: float, end: float, seed: int = 7
) -> Iterator[Synthetic]:
    """``count`` conversations spread over ``senders`` and the time range, oldest first, as rows.

    Each kind of conversation is built once from real Rasa events and then
    re-stamped, which is what makes 100,000 of them quick to produce.
    """
    rng = random.Random(seed)
    templates: dict[tuple[str, str, int], list[tuple[str, str | None, str | None, dict[str, Any]]]] = {}
    gap = (end - start) / max(count, 1)
    for index in range(count):
        kind, channel, variant = rng.choice(list(KINDS)), rng.choice(CHANNEL_MIX), rng.randint(0, 3)
        key = (kind, channel, variant)
        if key not in templates:
            turns = KINDS[kind](random.Random(variant), channel)
            if channel == "voice":
                for turn in turns:
                    turn.asr_confidence = turn.asr_confidence or 0.75 + 0.06 * variant
            templates[key] = [
                (row["type_name"], row["intent_name"], row["action_name"], json.loads(row["data"]))
                for row in event_rows("", conversation_events(turns, TEMPLATE_START))
            ]
        moment = start + index * gap
        sender = rng.choice(senders)
        rows = []
        for type_name, intent, action, data in templates[key]:
            stamped = {**data, "timestamp": data["timestamp"] - TEMPLATE_START + moment}
            rows.append(
                {
                    "sender_id": sender,
                    "type_name": type_name,
                    "timestamp": stamped["timestamp"],
                    "intent_name": intent,
                    "action_name": action,
                    "data": json.dumps(stamped),
                }
            )
        yield Synthetic(sender, kind, channel, moment, rows)


def add_workers(backend: Engine, facilities: Sequence[str], count: int, prefix: str = "B") -> list[str]:
    """Extra field workers spread over ``facilities``, straight into the backend's table."""
    from assistant.db.models import Worker

    ids = [f"{prefix}{number:05d}" for number in range(count)]
    rows = [
        {
            "id": worker_id,
            "name": f"Worker {worker_id}",
            "facility_id": facilities[n % len(facilities)],
            "role": "worker",
            "designation": "ASHA",
            "active": True,
        }
        for n, worker_id in enumerate(ids)
    ]
    with backend.begin() as connection:
        connection.execute(insert(Worker.__table__), rows)
    return ids


def add_linked_records(
    backend: Engine, conversations: Iterable[Synthetic], facility_of: dict[str, str]
) -> dict[str, int]:
    """An encounter or consult for each conversation that saved one, linked as the actions link them."""
    import datetime as dt

    from assistant.db.models import Consult, Encounter

    encounters, consults = [], []
    for item in conversations:
        created = dt.datetime.fromtimestamp(item.start + 20, dt.timezone.utc)
        common = {
            "patient_ref": "7788",
            "facility_id": facility_of[item.sender_id],
            "channel": item.channel,
            "conversation_id": item.sender_id,
            "created_at": created,
            "updated_at": created,
        }
        if item.kind == "encounter":
            encounters.append(
                {**common, "age_years": 34, "sex": "female", "complaint": "fever", "worker_id": item.sender_id}
            )
        elif item.kind == "consult":
            consults.append(
                {
                    **common,
                    "specialty": "cardiology",
                    "urgency": "urgent",
                    "status": "requested",
                    "requested_by": item.sender_id,
                    "hub_queue": True,
                }
            )
    with backend.begin() as connection:
        if encounters:
            connection.execute(insert(Encounter.__table__), encounters)
        if consults:
            connection.execute(insert(Consult.__table__), consults)
    return {"encounters": len(encounters), "consults": len(consults)}
