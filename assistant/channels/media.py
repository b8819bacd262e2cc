"""A voice note's bytes from an HTTP response, never more than ``MAX_MEDIA_BYTES`` of them.

Both messaging apps hand us a URL to fetch (the Graph API's media URL,
Twilio's ``MediaUrl0``). A declared ``Content-Length`` over the cap is
refused before anything is read; without one (a chunked body) at most one
byte past the cap is read, so a hostile or broken server cannot fill the
Rasa process's memory.
"""

from __future__ import annotations

import aiohttp

from assistant.core.rules import MAX_MEDIA_BYTES

CHUNK = 64 * 1024


class MediaTooLarge(Exception):
    """The voice note is over the cap: the worker is told so (``notices.VOICE_TOO_LARGE``), nothing is retried."""


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
