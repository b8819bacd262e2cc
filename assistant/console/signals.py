"""What counts as "the assistant failed here": fallbacks and low confidence.

One definition, used by the conversation filter, the transcript's highlights
and the dashboard's fallback rate.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy.sql.expression import ColumnElement

from assistant.console.tracker import ACTION, ASR_CONFIDENCE_PATH, INTENT_CONFIDENCE_PATH, USER, json_value

# The FallbackClassifier's intent (NLU confidence under its threshold).
FALLBACK_INTENTS: tuple[str, ...] = ("nlu_fallback",)
# What Rasa runs when it cannot predict the next action, or a two-stage fallback.
FALLBACK_ACTIONS: tuple[str, ...] = ("action_default_fallback", "action_two_stage_fallback")


def is_fallback_event(table: Any) -> ColumnElement:
    """A row that by itself marks a fallback (usable with the tracker store's indexes)."""
    return or_(
        and_(table.c.type_name == USER, table.c.intent_name.in_(FALLBACK_INTENTS)),
        and_(table.c.type_name == ACTION, table.c.action_name.in_(FALLBACK_ACTIONS)),
    )


def low_confidence_checks(table: Any, threshold: float) -> list[ColumnElement]:
    """A user message understood, or heard, with less confidence than ``threshold``.

    Two separate conditions so each probe stays simple; the type test lets the
    database read only the conversation's user events, not all of them.
    """
    return [
        and_(table.c.type_name == USER, json_value(table.c.data, *INTENT_CONFIDENCE_PATH, as_float=True) < threshold),
        and_(table.c.type_name == USER, json_value(table.c.data, *ASR_CONFIDENCE_PATH, as_float=True) < threshold),
    ]


def is_low(confidence: float | None, threshold: float) -> bool:
    return confidence is not None and confidence < threshold
