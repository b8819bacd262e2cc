"""Talking to Rasa through its REST channel.

See docs/contracts.md: every request carries the worker's own token (the
channel takes the sender from it, ``assistant.channels.rest``); user-message metadata
carries channel, ASR confidence, input mode and language. What comes next
(dictation or a command, and the reply language) is in the bot's messages
themselves (``assistant.core.dialogue.NextInput``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

from voice.errors import VoiceError

log = logging.getLogger(__name__)


def spoken_text(reply: dict[str, Any]) -> str:
    """What to say for one bot message: its text, then its button titles (a hands-free
    worker cannot see the buttons, so they are read out as the choices)."""
    text = str(reply.get("text") or "").strip()
    titles = [str(b.get("title", "")).strip() for b in reply.get("buttons") or [] if isinstance(b, dict)]
    titles = [title for title in titles if title and title.lower() not in text.lower()]
    if titles:
        text = f"{text} {', '.join(titles)}." if text else ", ".join(titles) + "."
    return text


class RasaClient:
    def __init__(self, base_url: str, worker_token: str, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {worker_token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> RasaClient:
        self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        assert self._session is not None, "use 'async with RasaClient(...)'"
        url = f"{self.base_url}/webhooks/rest/webhook"
        body = {"sender": sender, "message": text, "metadata": metadata}
        try:
            async with self._session.post(url, json=body) as response:
                if response.status != 200:
                    raise VoiceError(f"Rasa answered {response.status} at {url}: {(await response.text())[:200]}")
                replies = await response.json()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise VoiceError(f"cannot reach Rasa at {self.base_url} ({exc!r}); is 'assistant up' running?") from exc
        return replies if isinstance(replies, list) else []
