"""A real HTTP hop in front of the real backend, for the moments a test must land in.

The backend is ours and real; what cannot be arranged with it alone is the
network between it and the action server behaving badly at one exact moment:

- ``hold``: requests wait at the proxy until ``release()`` (a cancel can
  arrive while a delivery is on its way);
- ``swallow``: requests reach the backend, which carries them out, and the
  answer is lost on the way back (the client times out or sees the
  connection drop, not knowing whether the write happened);
- ``late``: requests reach the backend at once; the answer waits until
  ``release()`` (the client can die in between);
- ``down``: every request gets a 503, as from a hub that is down;
- ``through``: plain forwarding.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


@dataclass
class GatedProxy:
    target: str
    mode: str = "through"
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    seen: list[str] = field(default_factory=list)  # "METHOD /path" of each request, in order
    _gate: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    url: str = ""

    async def start(self) -> GatedProxy:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def release(self) -> None:
        self._gate.set()

    async def stop(self) -> None:
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(f"{request.method} {request.path}")
        self.arrived.set()
        if self.mode == "down":
            return web.json_response({"error": {"code": "unavailable", "message": "down"}}, status=503)
        if self.mode == "hold":
            await self._gate.wait()
        headers = {name: value for name, value in request.headers.items() if name.lower() not in HOP_HEADERS}
        async with aiohttp.ClientSession() as session:
            async with session.request(
                request.method, self.target + request.path_qs, headers=headers, data=await request.read()
            ) as answer:
                body = await answer.read()
                status, content_type = answer.status, answer.headers.get("Content-Type", "application/json")
        if self.mode == "late":
            await self._gate.wait()
        if self.mode == "swallow" and request.method == "POST":
            assert request.transport is not None
            request.transport.abort()  # the write is done; its answer never arrives
        return web.Response(status=status, body=body, headers={"Content-Type": content_type})
