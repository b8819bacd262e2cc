"""Changes made from the command line, in the audit log the console's admins read (``console_audit``).

An import's every addition, change (each field, old and new value) and
deactivation is one entry, written in the import's own transaction, so the
changes and their record are kept together or not at all. The actor is the
operating-system user who ran the command, the role ``cli`` and the address
the machine's name. Entries name facilities and people, never patients;
a phone number appears by its last four digits only.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from assistant.db.console_tables import AuditEntry

TARGET_LIMIT = 200  # as the audit table holds it
ROLE = "cli"


def short(value: object, limit: int = 60) -> str:
    """A value as an audit entry quotes it: ``-`` for none, cut at ``limit`` characters."""
    text = "-" if value is None or value == "" else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def change_text(subject: str, field: str, old: object, new: object) -> str:
    return f"{subject}: {field} {short(old)} -> {short(new)}"


def record_changes(session: AsyncSession, actor: str, command: str, changes: Iterable[tuple[str, str]]) -> int:
    """Add an audit entry for each ``(action, target)`` to the session's transaction; returns how many."""
    address = socket.gethostname()[:64]
    entries = [
        AuditEntry(
            actor=actor[:64],
            role=ROLE,
            action=action,
            target=target[:TARGET_LIMIT],
            address=address,
            user_agent=command[:300],
        )
        for action, target in changes
    ]
    session.add_all(entries)
    return len(entries)
