"""Voice notes are fetched with a cap (a declared length over it is refused unread, a chunked body is cut off),
and Twilio's only from its media hosts.

Against real local HTTP servers (``tests/support/media_server.py``), once
through the shared reader with a small cap, and once through the Twilio
channel's own fetch with the real one (``MAX_MEDIA_BYTES``); a second server
plays a host the channel was not told to fetch from, and records what it is sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

import aiohttp
import pytest

from assistant.channels.media import (
    CHUNK,
    MediaRefused,
    MediaTooLarge,
    MediaUnavailable,
    fetch_with_retries,
    origins,
    read_capped,
)
from assistant.channels.whatsapp.twilio import TwilioWhatsAppInput
from assistant.core.rules import MAX_MEDIA_BYTES, MEDIA_FETCH_ATTEMPTS
from tests.support.media_server import MediaServer

CAP = 256 * 1024


@pytest.fixture(scope="module")
def media() -> Iterator[MediaServer]:
    server = MediaServer().start()
    yield server
    server.stop()


async def _read(url: str, limit: int) -> bytes:
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as response:
            return await read_capped(response, limit)


async def test_a_chunked_body_within_the_cap_is_read_whole(media: MediaServer) -> None:
    assert await _read(f"{media.url}/chunked/{CAP}", CAP) == bytes(CAP)
    assert await _read(f"{media.url}/chunked/{CAP - 1000}", CAP) == bytes(CAP - 1000)


async def test_a_chunked_body_over_the_cap_is_refused(media: MediaServer) -> None:
    with pytest.raises(MediaTooLarge, match=f"over {CAP} bytes"):
        await _read(f"{media.url}/chunked/{CAP + 1}", CAP)


async def test_a_declared_length_over_the_cap_is_refused_before_reading(media: MediaServer) -> None:
    with pytest.raises(MediaTooLarge, match=f"declares {CAP + 1} bytes"):
        await _read(f"{media.url}/declared/{CAP + 1}", CAP)


def _voice_note_form(url: str) -> dict[str, str]:
    return {
        "MessageSid": "SM0123456789",
        "From": "whatsapp:+919800000001",
        "Body": "",
        "NumMedia": "1",
        "MediaContentType0": "audio/ogg",
        "MediaUrl0": url,
    }


@pytest.mark.parametrize("route", ["chunked", "declared"])
async def test_the_twilio_channel_fetches_voice_notes_with_the_whatsapp_cap(media: MediaServer, route: str) -> None:
    channel = TwilioWhatsAppInput("test-twilio-auth-token", "", "", media_origins=media.url)
    incoming = channel.incoming(_voice_note_form(f"{media.url}/{route}/{MAX_MEDIA_BYTES + CHUNK}"))
    assert incoming.fetch_audio is not None
    with pytest.raises(MediaTooLarge):
        await incoming.fetch_audio()
    just_fits = channel.incoming(_voice_note_form(f"{media.url}/chunked/{MAX_MEDIA_BYTES}"))
    assert just_fits.fetch_audio is not None
    assert len(await just_fits.fetch_audio()) == MAX_MEDIA_BYTES


ACCOUNT_SID = "AC" + "0" * 32


@pytest.fixture(scope="module")
def foreign_host() -> Iterator[MediaServer]:
    server = MediaServer().start()
    yield server
    server.stop()


async def test_the_twilio_channel_sends_its_credentials_to_its_media_hosts_only(
    media: MediaServer, foreign_host: MediaServer
) -> None:
    channel = TwilioWhatsAppInput("test-twilio-auth-token", ACCOUNT_SID, "", media_origins=media.url)
    fetched = channel.incoming(_voice_note_form(f"{media.url}/chunked/{CHUNK}")).fetch_audio
    assert fetched is not None and await fetched() == bytes(CHUNK)
    assert media.requests[-1].authorization == aiohttp.BasicAuth(ACCOUNT_SID, "test-twilio-auth-token").encode()
    for url in (
        f"{foreign_host.url}/chunked/{CHUNK}",
        f"{media.url}@127.0.0.1:{foreign_host.port}/chunked/{CHUNK}",  # the allowed origin as user info
        f"{media.url.replace('http:', 'https:')}/chunked/{CHUNK}",  # another scheme is another origin
        "http://[::1/chunked",  # no URL at all
    ):
        refused = channel.incoming(_voice_note_form(url)).fetch_audio
        assert refused is not None
        with pytest.raises(MediaRefused):
            await refused()
    assert foreign_host.requests == []


async def test_by_default_voice_notes_come_from_twilio_alone(media: MediaServer) -> None:
    channel = TwilioWhatsAppInput("test-twilio-auth-token", ACCOUNT_SID, "", media_origins=None)
    assert channel.media_origins == origins("https://api.twilio.com,https://*.twilio.com,https://*.twiliocdn.com")
    refused = channel.incoming(_voice_note_form(f"{media.url}/chunked/{CHUNK}")).fetch_audio
    assert refused is not None
    with pytest.raises(MediaRefused):
        await refused()


@pytest.mark.slow
async def test_a_voice_note_the_host_fails_to_hand_over_is_asked_for_again_with_the_backoff(media: MediaServer) -> None:
    channel = TwilioWhatsAppInput("test-twilio-auth-token", "", "", media_origins=media.url)

    def fetch(path: str) -> Callable[[], Awaitable[bytes]]:
        fetched = channel.incoming(_voice_note_form(f"{media.url}{path}")).fetch_audio
        assert fetched is not None
        return fetched

    def asked(path: str) -> int:
        return sum(1 for request in media.requests if request.path == path)

    # Two 503s, then the audio: the third try has it.
    assert await fetch_with_retries(fetch("/flaky/2/once")) == bytes(CHUNK)
    assert asked("/flaky/2/once") == 3
    # Busy for good: given up after the last try, for the worker to be told.
    with pytest.raises(MediaUnavailable, match="503"):
        await fetch_with_retries(fetch("/flaky/99/never"))
    assert asked("/flaky/99/never") == MEDIA_FETCH_ATTEMPTS
    # Not there at all: asking again cannot help.
    with pytest.raises(MediaUnavailable, match="404"):
        await fetch_with_retries(fetch("/status/404"))
    assert asked("/status/404") == 1
