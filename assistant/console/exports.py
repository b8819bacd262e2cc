"""Exports: a conversation as JSON or CSV, and flagged turns as Rasa NLU training data."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from assistant.console.transcript import Conversation, Turn
from assistant.db.console_tables import Flag
from assistant.domain.records import consult_json, encounter_json, iso

CSV_COLUMNS = (
    "turn",
    "time",
    "channel",
    "language",
    "input_mode",
    "user_text",
    "asr_confidence",
    "intent",
    "intent_confidence",
    "entities",
    "slot_changes",
    "actions",
    "bot_replies",
)
# A spreadsheet would run a cell starting with these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
INTENT_NAME = re.compile(r"^[A-Za-z0-9_\-/]{1,100}$")


def when(timestamp: float | None) -> str | None:
    return None if timestamp is None else iso(dt.datetime.fromtimestamp(timestamp, dt.timezone.utc))


def conversation_json(
    conversation: Conversation,
    worker: dict[str, Any] | None,
    consults: Iterable[Any],
    encounters: Iterable[Any],
    flags: Iterable[Flag],
    reviewed: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "conversation": {
            "id": conversation.id,
            "sender_id": conversation.sender_id,
            "worker": worker,
            "started_at": when(conversation.started_at),
            "ended_at": when(conversation.ended_at),
            "reviewed": reviewed,
        },
        "turns": [{**dataclasses.asdict(turn), "time": when(turn.timestamp)} for turn in conversation.turns],
        "consults": [consult_json(item) for item in consults],
        "encounters": [encounter_json(item) for item in encounters],
        "flags": [
            {
                "id": flag.id,
                "event_id": flag.event_id,
                "reason": flag.reason,
                "comment": flag.comment,
                "expected_intent": flag.expected_intent,
                "example": flag.example,
                "flagged_by": flag.flagged_by,
                "created_at": iso(flag.created_at),
            }
            for flag in flags
        ],
    }


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _turn_row(turn: Turn) -> list[str]:
    values = [
        turn.number,
        when(turn.timestamp),
        turn.channel,
        turn.language,
        turn.input_mode,
        turn.text,
        turn.asr_confidence,
        turn.intent,
        turn.intent_confidence,
        "; ".join(f"{entity.entity}={entity.value}" for entity in turn.entities),
        "; ".join(f"{name}={value}" for name, value in turn.slots),
        "; ".join(turn.actions),
        " | ".join(turn.replies),
    ]
    return [_cell(value) for value in values]


def conversation_csv(conversation: Conversation) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for turn in conversation.turns:
        writer.writerow(_turn_row(turn))
    return buffer.getvalue()


def example_markup(text: str, entities: Iterable[Any]) -> str:
    """The user's text with recognised entities in Rasa's ``[text](entity)`` markup."""
    spans = sorted(
        (entity for entity in entities if entity.start is not None and entity.end is not None),
        key=lambda entity: entity.start,
    )
    out, position = [], 0
    for entity in spans:
        if entity.start < position or entity.end > len(text):
            continue  # overlapping or out-of-range spans cannot be marked up
        surface = text[entity.start : entity.end]
        out.append(text[position : entity.start])
        if str(entity.value) == surface:
            out.append(f"[{surface}]({entity.entity})")
        else:
            out.append(
                f"[{surface}]{json.dumps({'entity': entity.entity, 'value': str(entity.value)}, ensure_ascii=False)}"
            )
        position = entity.end
    out.append(text[position:])
    return "".join(out)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def nlu_yaml(flags: Iterable[tuple[Flag, str | None]]) -> str:
    """Flagged turns as a Rasa 3.x NLU file, grouped by the intent the reviewer says they should have."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    skipped = 0
    for flag, text in flags:
        example = _one_line(flag.example or text or "")
        if not example or not flag.expected_intent or not INTENT_NAME.match(flag.expected_intent):
            skipped += 1
            continue
        if example not in by_intent[flag.expected_intent]:
            by_intent[flag.expected_intent].append(example)
    lines = [
        "# Flagged turns from the supervisor console, as Rasa NLU training examples.",
        "# Review each one, then move it into nlu/ (keep the held-out test file separate).",
    ]
    if skipped:
        lines.append(f"# {skipped} flagged turn(s) left out: no expected intent or no text.")
    lines += ['version: "3.1"', "nlu:"]
    for intent in sorted(by_intent):
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {example}" for example in by_intent[intent]]
    if not by_intent:
        lines[-1] = "nlu: []"
    return "\n".join(lines) + "\n"
