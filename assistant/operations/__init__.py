"""Looking after an installation: encrypted backups of everything the project owns, and their restore.

- ``backup``: ``take_backup`` (one archive while the stack runs), the daily rule and the archives kept;
  ``daily``: the loop ``assistant up`` runs as its ``backups`` service.
- ``restore``: an archive back into a data directory, checked in full before anything is written.
- ``sources``: what is backed up (every database, the secrets, the settings file);
  ``snapshot``: a consistent copy of each database; ``postgres_tools``: ``pg_dump`` / ``pg_restore``.
- ``archive``: the encrypted container; ``backup_key``: its key file; ``manifest``: what an archive holds.
- ``commands``: ``assistant backup`` and ``assistant restore``.

Depends on ``assistant.core`` and ``assistant.db`` only.
"""
