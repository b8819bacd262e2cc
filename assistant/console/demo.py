"""The demo supervisor login that ``assistant up`` prints (kept under the data dir's secrets)."""

from __future__ import annotations

import secrets

from assistant.core.config import Settings
from assistant.core.secrets import stored_secret

DEMO_SUPERVISOR = "S001"


def demo_password(settings: Settings) -> str:
    # Readable when printed on a terminal; long enough to resist guessing.
    return stored_secret(settings, "console_demo_password", lambda: secrets.token_urlsafe(12))


def login_hint(settings: Settings) -> str:
    return (
        f"  console login: {DEMO_SUPERVISOR} / {demo_password(settings)}  (change: assistant console password "
        f"--worker {DEMO_SUPERVISOR})"
    )
