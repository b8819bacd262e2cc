"""``assistant chat``: a terminal conversation with a running stack, over Rasa's REST channel."""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any

import aiohttp

QUIT_WORDS = {"/quit", "/exit", "quit", "exit"}
TIMEOUT = aiohttp.ClientTimeout(total=60)


def render(message: dict[str, Any]) -> tuple[str, list[str]]:
    """The text to print and the button payloads a number can choose."""
    lines = [message["text"]] if message.get("text") else []
    payloads: list[str] = []
    for number, button in enumerate(message.get("buttons") or [], start=1):
        lines.append(f"   {number}) {button.get('title', button.get('payload'))}")
        payloads.append(button.get("payload") or button.get("title", ""))
    if message.get("image"):
        lines.append(f"   [image] {message['image']}")
    return "\n".join(lines), payloads


class Refused(Exception):
    """The assistant will not talk to this worker (deactivated, or the token revoked)."""


class TerminalChat:
    def __init__(self, rasa_url: str, worker_id: str, worker_token: str) -> None:
        self.webhook = f"{rasa_url.rstrip('/')}/webhooks/rest/webhook"
        self.worker_id = worker_id
        self.headers = {"Authorization": f"Bearer {worker_token}"}
        self.choices: list[str] = []

    async def send(self, session: aiohttp.ClientSession, text: str) -> list[dict[str, Any]]:
        payload = {"sender": self.worker_id, "message": text, "metadata": {"channel": "rest"}}
        async with session.post(self.webhook, json=payload, headers=self.headers) as response:
            if response.status in (401, 403):
                error = (await response.json(content_type=None) or {}).get("error") or {}
                raise Refused(error.get("message") or f"HTTP {response.status}")
            response.raise_for_status()
            return await response.json()

    def resolve(self, typed: str) -> str:
        """A bare number picks the matching button from the last reply."""
        if typed.isdigit() and 1 <= int(typed) <= len(self.choices):
            return self.choices[int(typed) - 1]
        return typed

    async def run(self) -> None:
        print(f"Chatting as worker {self.worker_id}. Type a message; a number picks a button; /quit to leave.")
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
            while True:
                typed = await _next_line()
                if typed is None or typed.strip().lower() in QUIT_WORDS:
                    return
                if not typed.strip():
                    continue
                try:
                    replies = await self.send(session, self.resolve(typed.strip()))
                except Refused as refused:
                    print(f"assistant> (refused: {refused}) Ask your supervisor.")
                    return
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    print(
                        f"assistant> (not reachable at {self.webhook}: {exc.__class__.__name__}; is `assistant "
                        f"up` running?)"
                    )
                    continue
                self.choices = []
                for message in replies:
                    text, payloads = render(message)
                    if text:
                        print(f"assistant> {text}")
                    self.choices.extend(payloads)


def _read_line() -> str | None:
    try:
        return input("you> ")
    except EOFError:
        return None


async def _next_line() -> str | None:
    """The next typed line, read in a daemon thread: a chat stopped by a signal must not wait for Enter."""
    loop = asyncio.get_running_loop()
    line: asyncio.Future[str | None] = loop.create_future()

    def read() -> None:
        typed = _read_line()

        def answer() -> None:
            if not line.done():
                line.set_result(typed)

        try:
            loop.call_soon_threadsafe(answer)
        except RuntimeError:  # the chat ended meanwhile
            pass

    threading.Thread(target=read, name="chat-input", daemon=True).start()
    return await line


def run_chat(rasa_url: str, worker_id: str, worker_token: str) -> None:
    try:
        asyncio.run(TerminalChat(rasa_url, worker_id, worker_token).run())
    except KeyboardInterrupt:
        print(file=sys.stderr)
