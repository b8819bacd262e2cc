"""`assistant up`'s summary gives a newcomer a web chat URL and a demo sign-in that works."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from pathlib import Path

from assistant.backend import seed, workers
from assistant.core.config import load_settings
from assistant.core.secrets import write_secret
from assistant.db.engine import Database
from assistant.stack.channel_setup import channel_environment, summary_lines
from assistant.stack.services import service_environment


def _check(db_url: str, worker_id: str, pin: str) -> bool:
    async def run() -> bool:
        db = Database.connect(db_url)
        try:
            async with db.read() as session:
                return await workers.pin_matches(session, worker_id, pin)
        finally:
            await db.dispose()

    return asyncio.run(run())


def test_the_summary_prints_a_demo_sign_in_that_matches_the_stored_pin(tmp_path: Path) -> None:
    settings = dataclasses.replace(load_settings(), data_dir=tmp_path, rasa_port=5999)
    db = Database.connect(settings.database_url)
    asyncio.run(seed.seed(db))
    asyncio.run(db.dispose())

    lines = summary_lines(settings)
    assert lines[0].split() == ["web", "chat", "http://127.0.0.1:5999/webhooks/web/"]
    words = lines[1].replace(",", "").split()
    worker_id, pin = words[words.index("worker") + 1], words[words.index("PIN") + 1]
    assert (
        worker_id == "W001"
        and _check(settings.database_url, "W002", pin)
        and _check(settings.database_url, "W001", pin)
    )
    assert summary_lines(settings)[1] == lines[1]  # stable across restarts

    # A worker whose PIN was changed keeps it; the summary then names another demo worker.
    asyncio.run(_issue(settings.database_url, "W001", "864209"))
    assert "worker W002" in summary_lines(settings)[1] and _check(settings.database_url, "W001", "864209")


async def _issue(db_url: str, worker_id: str, pin: str) -> None:
    db = Database.connect(db_url)
    try:
        async with db.write() as session:
            await workers.issue_pin(session, worker_id, pin)
    finally:
        await db.dispose()


def test_a_demo_pin_kept_from_before_pins_had_six_digits_is_replaced(tmp_path: Path) -> None:
    settings = dataclasses.replace(load_settings(), data_dir=tmp_path)
    write_secret(settings, "demo_pin", "8642")
    db = Database.connect(settings.database_url)
    asyncio.run(seed.seed(db))
    asyncio.run(db.dispose())

    words = summary_lines(settings)[1].replace(",", "").split()
    pin = words[words.index("PIN") + 1]
    assert re.fullmatch(r"\d{6}", pin) and _check(settings.database_url, "W001", pin)


def test_rasa_gets_every_variable_credentials_yml_names(tmp_path: Path) -> None:
    settings = dataclasses.replace(load_settings(), data_dir=tmp_path)
    lines = (settings.project_dir / "credentials.yml").read_text().splitlines()
    named = {name for line in lines if not line.lstrip().startswith("#") for name in re.findall(r"\$\{(\w+)\}", line)}
    assert "ASSISTANT_WHATSAPP_APP_SECRET" in named
    env = service_environment(settings, "service-token")  # what `rasa run` is started with
    assert named <= set(env)
    assert len(env["ASSISTANT_WEB_SESSION_SECRET"]) >= 32 and env["ASSISTANT_WHATSAPP_VERIFY_TOKEN"]
    assert channel_environment(settings)["ASSISTANT_WEB_SESSION_SECRET"] == env["ASSISTANT_WEB_SESSION_SECRET"]
