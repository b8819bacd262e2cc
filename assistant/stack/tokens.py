"""The action server's backend token, created in the backend database on first run."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from assistant.core.config import Settings
from assistant.core.secrets import read_secret, write_secret


def service_token(settings: Settings) -> str:
    """The action server's backend token: configured, or stored and still valid in the database."""
    if settings.service_token:
        return settings.service_token
    return asyncio.run(_stored_service_token(settings))


async def _stored_service_token(settings: Settings) -> str:
    from assistant.backend.auth import create_token, hash_token
    from assistant.core.db.engine import Database
    from assistant.core.db.models import ApiToken

    db = Database.connect(settings.database_url)
    try:
        await db.create_schema()
        existing = read_secret(settings, "service_token")
        async with db.write() as session:
            if existing:
                found = await session.execute(
                    select(ApiToken.id).where(
                        ApiToken.token_hash == hash_token(existing), ApiToken.revoked_at.is_(None)
                    )
                )
                if found.scalar_one_or_none() is not None:
                    return existing
            token = await create_token(session, "service", label="action server (assistant up)")
        write_secret(settings, "service_token", token)
        return token
    finally:
        await db.dispose()
