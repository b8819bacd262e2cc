"""The demo console logins that ``assistant up`` prints (passwords kept under the data dir's secrets).

The supervisor's reviews conversations; the hub coordinator's runs the Hub
desk. ``assistant serve console --demo-login S001`` gives both their demo
password, each only while that account has no password of its own.
"""

from __future__ import annotations

import secrets

from assistant.core.config import Settings
from assistant.core.secrets import stored_secret

DEMO_SUPERVISOR = "S001"
DEMO_COORDINATOR = "H001"
# Each demo account has its own password: signing in as one never opens the other.
# The supervisor's secret keeps the name it had before the hub desk.
_SECRET_NAMES = {DEMO_COORDINATOR: "console_demo_coordinator_password"}
_DEFAULT_SECRET = "console_demo_password"
_WHAT_FOR = {DEMO_COORDINATOR: "hub desk login"}


def demo_logins(named: str | None) -> list[str]:
    """The accounts a ``--demo-login`` start prepares: the one named and the demo hub coordinator."""
    return list(dict.fromkeys([*([named] if named else []), DEMO_COORDINATOR]))


def demo_password(settings: Settings, worker_id: str = DEMO_SUPERVISOR) -> str:
    # Readable when printed on a terminal; long enough to resist guessing.
    name = _SECRET_NAMES.get(worker_id, _DEFAULT_SECRET)
    return stored_secret(settings, name, lambda: secrets.token_urlsafe(12))


def login_hint(settings: Settings, worker_id: str = DEMO_SUPERVISOR) -> str:
    what = _WHAT_FOR.get(worker_id, "console login")
    return (
        f"  {what}: {worker_id} / {demo_password(settings, worker_id)}  (change: assistant console password "
        f"--worker {worker_id})"
    )
