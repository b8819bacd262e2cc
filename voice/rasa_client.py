"""Talking to Rasa: the REST channel for messages, the tracker for dialogue state.

See docs/contracts.md: the sender is the worker id; user-message metadata
carries channel, ASR confidence, input mode and language; the tracker's
``requested_slot`` and ``language`` slots tell the loop whether the next
utterance is dictation and which voice should answer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any
from urllib.parse import quote

import aiohttp

from voice.engine import Mode
from voice.errors import VoiceError

log = logging.getLogger(__name__)

# Free-text slots: while one of these is asked for, the worker dictates.
DICTATION_SLOTS = frozenset({"complaint", "notes", "reason"})


@dataclasses.dataclass(frozen=True)
class DialogueState:
    requested_slot: str | None = None
    language: str | None = None

    @property
    def mode(self) -> Mode:
        return "dictation" if self.requested_slot in DICTATION_SLOTS else "command"


def reply_hints(replies: list[dict[str, Any]]) -> dict[str, str]:
    """``input_mode`` / ``language`` that a bot message may carry in its custom payload."""
    hints: dict[str, str] = {}
    for reply in replies:
        custom = reply.get("custom")
        if isinstance(custom, dict):
            for key in ("input_mode", "language"):
                if isinstance(custom.get(key), str):
                    hints[key] = custom[key]
    return hints


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
    def __init__(self, base_url: str, token: str = "", timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._tracker_warned = False

    async def __aenter__(self) -> "RasaClient":
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        if self._session is not None:
            await self._session.close()

    def _params(self) -> dict[str, str]:
        return {"token": self.token} if self.token else {}

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        assert self._session is not None, "use 'async with RasaClient(...)'"
        url = f"{self.base_url}/webhooks/rest/webhook"
        body = {"sender": sender, "message": text, "metadata": metadata}
        try:
            async with self._session.post(url, json=body, params=self._params()) as response:
                if response.status != 200:
                    raise VoiceError(f"Rasa answered {response.status} at {url}: {(await response.text())[:200]}")
                replies = await response.json()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise VoiceError(f"cannot reach Rasa at {self.base_url} ({exc!r}); is 'assistant up' running?") from exc
        return replies if isinstance(replies, list) else []

    async def dialogue_state(self, sender: str) -> DialogueState:
        """The slots that steer the loop; an unreadable tracker means "command mode, default voice"."""
        assert self._session is not None, "use 'async with RasaClient(...)'"
        url = f"{self.base_url}/conversations/{quote(sender, safe='')}/tracker"
        params = {**self._params(), "include_events": "NONE"}
        try:
            async with self._session.get(url, params=params) as response:
                if response.status != 200:
                    self._warn_tracker(f"HTTP {response.status}")
                    return DialogueState()
                tracker = await response.json()
        except aiohttp.ClientError as exc:
            self._warn_tracker(str(exc))
            return DialogueState()
        slots = tracker.get("slots") or {}
        requested, language = slots.get("requested_slot"), slots.get("language")
        return DialogueState(
            requested_slot=requested if isinstance(requested, str) else None,
            language=language if isinstance(language, str) else None,
        )

    def _warn_tracker(self, reason: str) -> None:
        if not self._tracker_warned:
            self._tracker_warned = True
            log.warning(
                "cannot read the dialogue state from Rasa's tracker (%s); dictation switching "
                "relies on bot-message hints. Start rasa with --enable-api and pass its --auth-token.",
                reason,
            )
