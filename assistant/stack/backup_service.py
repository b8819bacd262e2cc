"""How ``assistant up`` takes the daily backup: one more supervised service, ``assistant backup --daily``.

It starts last, once the services whose databases it copies are up. The
backup key is made here, before it starts, so that the operator is told on
``assistant up``'s own terminal (once, when it is made) to keep a copy apart.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from assistant.core.config import Settings
from assistant.operations.backup_key import ensure_key, key_announcement
from assistant.stack.shutdown import say
from assistant.stack.supervisor import ServiceSpec

SERVICE_NAME = "backups"


def backup_service(settings: Settings, env: Mapping[str, str]) -> ServiceSpec:
    key, made = ensure_key(settings)
    if made:
        say(key_announcement(settings.backup_key_path, key))
    return ServiceSpec(
        name=SERVICE_NAME,
        command=[sys.executable, "-m", "assistant.cli", "backup", "--daily"],
        url=f"{settings.backup_path} (daily, the newest {settings.backup_keep} kept)",
        ready=lambda: True,  # nothing to wait for: a backup that fails is logged and tried again
        env=env,
    )
