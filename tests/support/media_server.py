"""A local HTTP server handing out media the way a careless or hostile one would: too large, or not at all.

A real aiohttp server on a free port, in its own thread (``local_server``):

- ``GET /chunked/{size}`` sends ``size`` bytes of zeros chunked, with no
  ``Content-Length``, so only counting what arrives can stop it;
- ``GET /declared/{size}`` declares ``Content-Length: size`` and then sends
  only a little (a client that trusts the header never needs more);
- ``GET /flaky/{failures}/{name}`` answers 503 to the first ``failures``
  requests for ``name``, then sends a little audio; ``GET /status/{code}``
  always answers ``code``.

It keeps every request it was sent (``requests``), with its ``Authorization``
header: whether, and with what credentials, anyone fetched from it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.support.local_server import LocalServer

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    authorization: str | None


class MediaServer(LocalServer):
    name = "media server"
    cancel_abandoned_handlers = True  # the declared route would wait 30 s for a client long gone

    def __init__(self, port: int | None = None) -> None:
        super().__init__(port)
        self.requests: list[Received] = []  # appended on the server's thread, read by the test's
        self._busy_answers: dict[str, int] = {}  # /flaky/ name -> the 503s answered so far

    def routes(self, app: web.Application) -> None:
        app.middlewares.append(self._record)
        app.router.add_get("/chunked/{size}", self._chunked)
        app.router.add_get("/declared/{size}", self._declared)
        app.router.add_get("/flaky/{failures}/{name}", self._flaky)
        app.router.add_get("/status/{code}", self._status)

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(Received(request.method, request.path, request.headers.get("Authorization")))
        return await handler(request)

    async def _chunked(self, request: web.Request) -> web.StreamResponse:
        size = int(request.match_info["size"])
        response = web.StreamResponse(headers={"Content-Type": "audio/ogg"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, size, CHUNK):
            await response.write(bytes(min(CHUNK, size - start)))
        await response.write_eof()
        return response

    async def _flaky(self, request: web.Request) -> web.Response:
        name, failures = request.match_info["name"], int(request.match_info["failures"])
        failed = self._busy_answers.get(name, 0)
        if failed < failures:
            self._busy_answers[name] = failed + 1
            return web.Response(status=503, text="busy")
        return web.Response(body=bytes(CHUNK), content_type="audio/ogg")

    async def _status(self, request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="no")

    async def _declared(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "audio/ogg"})
        response.content_length = int(request.match_info["size"])
        await response.prepare(request)
        await response.write(bytes(CHUNK))
        await asyncio.sleep(30)  # the rest never comes: a client must not wait for it
        return response
