"""A message's claim names the process holding it, and when its answer went back.

``holder`` lets a claim left by a process that is gone be taken over at once
(``assistant.core.liveness``); ``answered_at`` tells a redelivery whether the
first answer reached the caller (``assistant.channels.once``).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from assistant.db.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holder", sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column("answered_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.drop_column("answered_at")
        batch_op.drop_column("holder")
