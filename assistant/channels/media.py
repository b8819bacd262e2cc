"""A voice note's bytes from an HTTP response, never more than ``MAX_MEDIA_BYTES`` of them, from hosts we trust.

Both messaging apps hand us a URL to fetch (the Graph API's media URL,
Twilio's ``MediaUrl0``). A declared ``Content-Length`` over the cap is
refused before anything is read; without one (a chunked body) at most one
byte past the cap is read, so a hostile or broken server cannot fill the
Rasa process's memory.

A URL named in a webhook is fetched with the app's credentials, so only from
the app's own media hosts (``allowed_origin``): anywhere else would be handed
the credentials, or made to reach a host on our network.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

import aiohttp
from yarl import URL

from assistant.core.retry import MEDIA_BACKOFF, worth_retrying
from assistant.core.rules import MAX_MEDIA_BYTES, MEDIA_FETCH_ATTEMPTS

log = logging.getLogger(__name__)

CHUNK = 64 * 1024


class MediaTooLarge(Exception):
    """The voice note is over the cap: the worker is told so (``channel_texts.VOICE_TOO_LARGE``), nothing is retried."""


class MediaRefused(Exception):
    """The voice note's URL is not on an allowed host: nothing was requested; the worker is told it was not fetched."""


class MediaUnavailable(Exception):
    """The app did not hand the voice note over (unreachable, an error answer, damaged bytes).

    ``retryable``: whether asking again may help (``fetch_with_retries``); after the last try
    the worker is told it could not be fetched, once, and the webhook is answered as handled.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable

    @classmethod
    def of_status(cls, status: int, where: str) -> MediaUnavailable:
        return cls(f"{where} answered HTTP {status}", retryable=worth_retrying(status))


async def fetch_with_retries(fetch: Callable[[], Awaitable[bytes]]) -> bytes:
    """``fetch()``, tried again with ``MEDIA_BACKOFF`` after a failure that may pass: ``MEDIA_FETCH_ATTEMPTS`` tries."""
    for attempt in range(1, MEDIA_FETCH_ATTEMPTS + 1):
        try:
            return await fetch()
        except MediaUnavailable as exc:
            if not exc.retryable or attempt == MEDIA_FETCH_ATTEMPTS:
                raise
            delay = MEDIA_BACKOFF.delay(attempt)
            log.info(
                "voice note fetch failed (%s); try %d of %d in %.1f s", exc, attempt + 1, MEDIA_FETCH_ATTEMPTS, delay
            )
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


def origins(setting: str) -> tuple[URL, ...]:
    """The allowed origins of a comma-separated setting (``https://api.twilio.com,https://*.twilio.com``)."""
    return tuple(URL(origin.strip()) for origin in setting.split(",") if origin.strip())


def allowed_origin(url: URL, allowed: Iterable[URL]) -> bool:
    """Whether ``url`` is on one of the ``allowed`` origins: scheme, host (``*.`` any subdomain) and port.

    The URL is read by yarl, as aiohttp reads what it fetches: what is checked is what would be requested.
    """
    host = (url.host or "").lower()
    if not host or url.user is not None or url.port is None:  # user info could pass for a host to a reader
        return False
    for origin in allowed:
        name = (origin.host or "").lower()
        same_host = host.endswith(name[1:]) if name.startswith("*.") else host == name
        if same_host and url.scheme == origin.scheme and url.port == origin.port:
            return True
    return False


async def read_capped(response: aiohttp.ClientResponse, limit: int = MAX_MEDIA_BYTES) -> bytes:
    if response.content_length is not None and response.content_length > limit:
        raise MediaTooLarge(f"the voice note declares {response.content_length} bytes, over {limit}")
    data = bytearray()
    # StreamReader.read(n) returns what has arrived (up to n), not n: loop until the end or one byte past the cap.
    while len(data) <= limit:
        chunk = await response.content.read(min(CHUNK, limit + 1 - len(data)))
        if not chunk:
            return bytes(data)
        data += chunk
    raise MediaTooLarge(f"the voice note is over {limit} bytes")
