"""An aiohttp application on a free local port, served from a thread of its own.

The stand-ins for the outside world (``fake_graph`` for Meta, ``media_server``
for a hostile media host) are real HTTP servers, and so are our own backend
served in-process (``tests/support/backend.py``); serving them from their own
thread and loop lets synchronous tests and the processes under test call them.
A subclass adds its routes in ``routes``, or builds its whole application in
``application``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from typing import TypeVar

from aiohttp import web

from tests.support.processes import free_port

Server = TypeVar("Server", bound="LocalServer")
T = TypeVar("T")


class LocalServer:
    name = "local-server"
    # True: a client that hangs up cancels its handler (for handlers that would otherwise wait on).
    cancel_abandoned_handlers = False

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._failed: BaseException | None = None
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def application(self) -> web.Application:
        """The application to serve, built on the server's own loop."""
        app = web.Application()
        self.routes(app)
        return app

    def start(self: Server) -> Server:
        self._thread.start()
        if not self._started.wait(60):
            raise RuntimeError(f"the {self.name} did not start")
        if self._failed is not None:
            self._thread.join(10)
            raise RuntimeError(f"the {self.name} did not start") from self._failed
        return self

    def run(self, coroutine: Awaitable[T], timeout: float = 60) -> T:
        """Run ``coroutine`` on the server's loop, from any other thread, and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)  # type: ignore[arg-type]

    def stop(self) -> None:
        # Close the server inside its loop first, so no request is left half-handled when the loop ends.
        if self._runner is not None:
            self.run(self._runner.cleanup(), timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            app = self._loop.run_until_complete(self.application())
            self._runner = web.AppRunner(
                app, access_log=None, handler_cancellation=self.cancel_abandoned_handlers, shutdown_timeout=1
            )
            self._loop.run_until_complete(self._runner.setup())
            self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        except BaseException as exc:
            self._failed = exc
            self._started.set()
            self._loop.close()
            return
        self._started.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()
