"""Alembic's entry point in this script directory: see ``environment``."""

from alembic import context

from assistant.db.migrations.environment import run

run(context)
