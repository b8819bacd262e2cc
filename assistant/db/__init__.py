"""The databases: async engines (SQLite and PostgreSQL), every table, locks and purges.

- ``engine``: ``Database`` with its reader and writer engines; ``inline_sqlite``:
  the backend's SQLite writes on the event loop's thread.
- ``models``: the backend's tables (facilities, workers, consults, slots, ...);
  ``console_tables``, ``channel_tables`` and ``device``: the console's, the chat
  channels' and the action server's own tables.
- ``migrations``: every database's versioned migrations (alembic), run by each
  service on start; ``naming``: the names of every constraint; ``locks``, ``purge``, ``types``.

Depends on ``assistant.core`` only.
"""
