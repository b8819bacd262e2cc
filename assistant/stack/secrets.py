"""Secrets the stack generates on first run and keeps under ``data_dir/secrets`` (mode 0600)."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path
from typing import Callable

from sqlalchemy import select

from assistant.config import Settings


def secrets_dir(settings: Settings) -> Path:
    path = settings.data_dir / "secrets"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def read_secret(settings: Settings, name: str) -> str | None:
    path = secrets_dir(settings) / name
    return path.read_text().strip() if path.is_file() else None


def write_secret(settings: Settings, name: str, value: str) -> None:
    path = secrets_dir(settings) / name
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(value + "\n")


def stored_secret(settings: Settings, name: str, make: Callable[[], str] = lambda: secrets.token_urlsafe(32)) -> str:
    """The secret called ``name``, created on first use."""
    value = read_secret(settings, name)
    if not value:
        value = make()
        write_secret(settings, name, value)
    return value


def rasa_token(settings: Settings) -> str:
    return settings.rasa_token or stored_secret(settings, "rasa_token")


def service_token(settings: Settings) -> str:
    """The action server's backend token: configured, or stored and still valid in the database."""
    if settings.service_token:
        return settings.service_token
    return asyncio.run(_stored_service_token(settings))


async def _stored_service_token(settings: Settings) -> str:
    from assistant.backend.auth import create_token, hash_token
    from assistant.backend.database import Database
    from assistant.backend.models import ApiToken

    db = Database.connect(settings.database_url)
    try:
        await db.create_schema()
        existing = read_secret(settings, "service_token")
        async with db.write() as session:
            if existing:
                found = await session.execute(
                    select(ApiToken.id).where(ApiToken.token_hash == hash_token(existing), ApiToken.revoked_at.is_(None))
                )
                if found.scalar_one_or_none() is not None:
                    return existing
            token = await create_token(session, "service", label="action server (assistant up)")
        write_secret(settings, "service_token", token)
        return token
    finally:
        await db.dispose()
