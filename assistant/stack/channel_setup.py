"""What ``assistant up`` prepares for the channels: Rasa's environment, demo sign-in, summary lines.

credentials.yml refers to ASSISTANT_* variables; Rasa refuses to start when
one is unset. The stack exports every setting (empty when not configured:
that channel then refuses requests); this adds what is derived. The web
session key and the WhatsApp verify token are generated on first run and kept
under data_dir/secrets.
"""

from __future__ import annotations

import asyncio

from assistant.core.config import ENV_PREFIX, Settings
from assistant.core.secrets import stored_secret, write_secret


def channel_environment(settings: Settings) -> dict[str, str]:
    env = {ENV_PREFIX + "CHANNELS_DB_URL": settings.channels_database_url}
    env[ENV_PREFIX + "WEB_SESSION_SECRET"] = settings.web_session_secret or stored_secret(
        settings, "web_session_secret"
    )
    env[ENV_PREFIX + "WHATSAPP_VERIFY_TOKEN"] = settings.whatsapp_verify_token or stored_secret(
        settings, "whatsapp_verify_token"
    )
    return env


def _demo_pin(settings: Settings) -> str:
    from assistant.core.pins import check_pin_format, generate_pin
    from assistant.core.rules import PIN_PATTERN

    if settings.demo_pin:
        return check_pin_format(settings.demo_pin)
    pin = stored_secret(settings, "demo_pin", generate_pin)
    if not PIN_PATTERN.match(pin):  # kept from before PINs had 6 digits: workers who have it keep it
        pin = generate_pin()
        write_secret(settings, "demo_pin", pin)
    return pin


async def _ensure_demo_pins(settings: Settings, pin: str) -> str | None:
    """Give demo workers without a PIN the demo PIN; the first whose PIN it is, for the summary."""
    from assistant.backend.seed import load_demo
    from assistant.backend.workers import issue_pin, pin_matches
    from assistant.db.engine import Database
    from assistant.db.models import Worker, WorkerPin

    demo_workers = [entry["id"] for entry in load_demo()["workers"] if entry["role"] == "worker"]

    db = Database.connect(settings.database_url)
    try:
        await db.migrate()
        async with db.write() as session:
            shown = None
            for worker_id in demo_workers:
                worker = await session.get(Worker, worker_id)
                if worker is None or not worker.active:
                    continue
                if await session.get(WorkerPin, worker_id) is None:
                    await issue_pin(session, worker_id, pin)
                    shown = shown or worker_id
                elif shown is None and await pin_matches(session, worker_id, pin):
                    shown = worker_id
            return shown
    finally:
        await db.dispose()


def demo_login(settings: Settings) -> tuple[str, str] | None:
    """(worker id, PIN) a newcomer can sign in with, when the demo data is loaded."""
    pin = _demo_pin(settings)
    worker = asyncio.run(_ensure_demo_pins(settings, pin))
    return (worker, pin) if worker else None


def summary_lines(settings: Settings) -> list[str]:
    rasa = settings.rasa_base_url
    login = demo_login(settings)
    lines = [f"  web chat  {rasa}/webhooks/web/"]
    if login:
        lines.append(
            f"            demo sign-in: worker {login[0]}, PIN {login[1]}  (`assistant worker pin ID` issues PINs)"
        )
    whatsapp = "" if settings.whatsapp_app_secret else "  (not configured: see docs/channels.md)"
    lines.append(f"  WhatsApp  {rasa}/webhooks/whatsapp/webhook{whatsapp}")
    if settings.twilio_auth_token:
        lines.append(f"  Twilio    {rasa}/webhooks/twilio_whatsapp/webhook")
    return lines
