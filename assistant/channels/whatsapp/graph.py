"""The Graph API calls the connector makes: send a message, fetch a voice note.

Sending retries with exponential backoff (and full jitter) when the failure
may pass: connection errors, timeouts, HTTP 429 and 5xx, and the Graph error
codes Meta documents as transient or rate limits. Anything else (a bad token,
a number outside the 24-hour window) fails at once with the Graph error code.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from assistant.channels.media import MediaTooLarge, MediaUnavailable, read_capped
from assistant.core.rules import MAX_MEDIA_BYTES

log = logging.getLogger(__name__)

T = TypeVar("T")

TIMEOUT = aiohttp.ClientTimeout(total=20, connect=5)
MAX_BACKOFF_SECONDS = 30.0
# 1/2: API unknown/service; 4: app rate limit; 80007: account rate limit;
# 130429: throughput; 131000: "something went wrong"; 131016: service unavailable;
# 131056: too many messages to one user; 133004: server temporarily unavailable.
TRANSIENT_GRAPH_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131056, 133004})


class GraphError(Exception):
    """A send or fetch that failed, and whether trying again may help (``Delivery`` decides by it)."""

    service = "graph"  # names the error codes in logs and dead letters: ``graph_131047``

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_seconds: float = 0.5

    def delay(self, attempt: int, error: GraphError) -> float:
        """Full jitter keeps many senders from retrying in step; Retry-After wins when given."""
        if error.retry_after is not None:
            return min(error.retry_after, MAX_BACKOFF_SECONDS)
        return random.uniform(0, min(MAX_BACKOFF_SECONDS, self.base_seconds * 2**attempt))


async def with_retries(operation: Callable[[], Awaitable[T]], policy: RetryPolicy, what: str) -> T:
    for attempt in range(policy.attempts):
        try:
            return await operation()
        except GraphError as error:
            if not error.retryable or attempt == policy.attempts - 1:
                raise
            delay = policy.delay(attempt, error)
            log.warning("%s failed (%s); retry %d/%d in %.1fs", what, error, attempt + 1, policy.attempts - 1, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


async def _raise_for_graph_error(response: aiohttp.ClientResponse) -> None:
    if response.status < 400:
        return
    try:
        error = (await response.json(content_type=None)).get("error") or {}
    except (ValueError, aiohttp.ContentTypeError, AttributeError):
        error = {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    retryable = response.status == 429 or response.status >= 500 or code in TRANSIENT_GRAPH_CODES
    # Graph messages quote the request; keep only the code and type out of logs.
    raise GraphError(
        f"Graph API {response.status} (code {code}, {error.get('type', 'error')})",
        status=response.status,
        code=code,
        retryable=retryable,
        retry_after=_retry_after(response),
    )


class GraphClient:
    def __init__(self, base_url: str, api_version: str, access_token: str, policy: RetryPolicy) -> None:
        self.root = f"{base_url.rstrip('/')}/{api_version.strip('/')}"
        self.policy = policy
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT, headers=self._headers)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _attempt(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise GraphError(f"Graph API unreachable ({exc.__class__.__name__})", retryable=True) from exc

    async def send(self, business_number_id: str, payload: dict[str, Any], policy: RetryPolicy | None = None) -> str:
        """POST /{number id}/messages; returns the new message's id. Raises ``GraphError`` when it gave up.

        ``policy`` replaces the client's retries (a waiting reply's redelivery tries once: it has its own backoff).
        """
        url = f"{self.root}/{business_number_id}/messages"

        async def post() -> str:
            async with self._client().post(url, json=payload) as response:
                await _raise_for_graph_error(response)
                body = await response.json(content_type=None)
                return str((body.get("messages") or [{}])[0].get("id", ""))

        return await with_retries(lambda: self._attempt(post), policy or self.policy, "WhatsApp send")

    async def media(self, media_id: str) -> tuple[bytes, str]:
        """A voice note's bytes and MIME type: the media URL first, then the file (both need the token).

        Raises ``MediaUnavailable`` when Meta did not hand it over, ``MediaTooLarge`` when it is over the cap.
        """

        async def download() -> tuple[bytes, str]:
            async with self._client().get(f"{self.root}/{media_id}") as response:
                await _raise_for_graph_error(response)
                info = await response.json(content_type=None)
            if not isinstance(info, dict) or not isinstance(info.get("url"), str):
                raise GraphError("the Graph API gave no media URL")
            if int(info.get("file_size") or 0) > MAX_MEDIA_BYTES:
                raise MediaTooLarge("the voice note is larger than WhatsApp allows")
            async with self._client().get(info["url"]) as response:
                await _raise_for_graph_error(response)
                data = await read_capped(response)
            expected = info.get("sha256")
            if expected and hashlib.sha256(data).hexdigest() != expected:
                raise GraphError("the voice note arrived damaged (checksum mismatch)", retryable=True)
            return data, str(info.get("mime_type") or "")

        # One try: the caller tries again with the shared backoff (``media.fetch_with_retries``).
        try:
            return await self._attempt(download)
        except GraphError as exc:
            raise MediaUnavailable(str(exc), retryable=exc.retryable) from exc
