"""How every SQLAlchemy engine of ours is made: the options live here, once.

``hide_parameters``: a statement's values are patient data (a patient
reference, a complaint, a conversation's text). Without it SQLAlchemy writes
them into the text of every database error (``[parameters: ('4521', ...)]``),
and an unexpected one reaches a traceback in a log. With it the error names
the statement only.

Kept apart from ``assistant.db.engine``, the async engines, so that the action
server's synchronous store uses the same options without loading those.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

ENGINE_OPTIONS: dict[str, Any] = {"future": True, "hide_parameters": True}


def sync_engine(url: str, **options: Any) -> Engine:
    """A synchronous engine on ``url`` with our options (and the caller's own, such as a pool or a timeout)."""
    return create_engine(url, **ENGINE_OPTIONS, **options)


def hide_parameters(engine: Engine) -> None:
    """The same rule for an engine someone else made (Rasa's tracker store): read when an error is raised."""
    engine.hide_parameters = ENGINE_OPTIONS["hide_parameters"]
