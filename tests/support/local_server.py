"""An aiohttp application on a free local port, served from a thread of its own.

The stand-ins for the outside world (``fake_graph`` for Meta, ``media_server``
for a hostile media host) are real HTTP servers; serving them from their own
thread and loop lets synchronous tests and the processes under test call them.
A subclass adds its routes in ``routes``.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TypeVar

from aiohttp import web

from tests.support.processes import free_port

Server = TypeVar("Server", bound="LocalServer")


class LocalServer:
    name = "local-server"
    # True: a client that hangs up cancels its handler (for handlers that would otherwise wait on).
    cancel_abandoned_handlers = False

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def start(self: Server) -> Server:
        self._thread.start()
        if not self._started.wait(15):
            raise RuntimeError(f"the {self.name} did not start")
        return self

    def stop(self) -> None:
        # Close the server inside its loop first, so no request is left half-handled when the loop ends.
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=self.cancel_abandoned_handlers)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port, shutdown_timeout=1).start())
        self._started.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()
