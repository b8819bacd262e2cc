"""Versioned migrations (alembic) of every database the assistant owns: backend, channel state, outbox.

- ``runner``: ``migrate(url, database)``, which every service calls on start
  and which refuses a database newer than the code (``DatabaseTooNew``);
- ``databases``: the three databases and where their revisions live
  (``backend/``, ``channels/``, ``outbox/`` beside this file);
- ``environment`` (through ``env.py``) and ``script.py.mako``: alembic's
  environment and the template of a new revision;
- ``baseline``: how each first revision brings a database of any earlier
  release to the frozen schema; ``snapshot``: a schema as comparable values;
- ``backup``: the copy taken before a migration.
"""

from assistant.db.migrations.runner import DatabaseTooNew, migrate

__all__ = ["DatabaseTooNew", "migrate"]
