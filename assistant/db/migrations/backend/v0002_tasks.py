"""Follow-up tasks (issue 28): the ``tasks`` table, and reminders of them in the worker outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-08

A reminder is a ``hub_notices`` row of event ``task_due`` naming its task
(``task_id``); a task the worker added themselves comes from no consult, so
``hub_notices.consult_id`` may now be empty. On SQLite that column change
rebuilds ``hub_notices`` in batch mode, rows copied. The column types are
written out here, not imported from the models, which will change.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("what", sa.String(200), nullable=False),
        sa.Column("patient_ref", sa.String(64), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("consult_id", sa.Integer(), nullable=True),
        sa.Column("checklist", sa.String(64), nullable=True),
        sa.Column("worker_id", sa.String(64), nullable=False),
        sa.Column("facility_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("closed_by", sa.String(64), nullable=True),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.Column("encounter_id", sa.Integer(), nullable=True),
        sa.Column("reminded_count", sa.Integer(), nullable=False),
        sa.Column("last_reminded_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["consult_id"], ["consults.id"], name="fk_tasks_consult_id_consults"),
        sa.ForeignKeyConstraint(["encounter_id"], ["encounters.id"], name="fk_tasks_encounter_id_encounters"),
        sa.ForeignKeyConstraint(["facility_id"], ["facilities.id"], name="fk_tasks_facility_id_facilities"),
        sa.ForeignKeyConstraint(["worker_id"], ["workers.id"], name="fk_tasks_worker_id_workers"),
        sa.PrimaryKeyConstraint("id", name="pk_tasks"),
    )
    for column in ("consult_id", "due_on", "facility_id", "patient_ref", "state", "worker_id"):
        op.create_index(f"ix_tasks_{column}", "tasks", [column])
    with op.batch_alter_table("hub_notices") as batch:
        batch.add_column(sa.Column("task_id", sa.Integer(), nullable=True))
        batch.alter_column("consult_id", existing_type=sa.Integer(), nullable=True)
        batch.create_index("ix_hub_notices_task_id", ["task_id"])
        batch.create_foreign_key("fk_hub_notices_task_id_tasks", "tasks", ["task_id"], ["id"])


def downgrade() -> None:
    raise NotImplementedError("restore the copy taken before the upgrade (a .bak beside SQLite, or a pg_dump)")
