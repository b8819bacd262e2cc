"""What can go wrong with a backup or a restore, in words an operator can act on."""

from __future__ import annotations


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


class WrongKey(BackupError):
    """The key file is not the key the archive was made with."""


class DamagedArchive(BackupError):
    """The archive is not what was written: a changed byte, a cut-off end, or not an archive at all."""


class RestoreRefused(BackupError):
    """A restore that would overwrite something, or that this machine cannot do; nothing was written."""
