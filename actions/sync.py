"""Background delivery of the outbox, inside the action server process.

Started with the action server (``actions.server``), so queued writes go out
after a restart even if nobody talks to the assistant. Each round sends what is due (each row
waits out its own backoff after a "not now", ``actions.outbox``); the pause between rounds
is short while the hub answers and grows (up to ``MAX_PAUSE``) while it does
not, so a phone on 2G does not spend its battery knocking on a closed door.

Once the hub answers again (any call of this process to it gets an answer:
a worker's checklist, a consult's status), what waits in the outbox goes at
the next round, without waiting out its backoff (up to a minute): the
worker's records reach the hub as soon as it can take them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from actions.outbox import deliver_pending
from actions.services import services

log = logging.getLogger(__name__)

PAUSE = 3.0
MAX_PAUSE = 30.0


async def run_forever(pause: float = PAUSE, max_pause: float = MAX_PAUSE) -> None:
    current = pause
    recovered = False
    answers_at_failure: int | None = None  # how many answers the backend had given when a round last failed
    while True:
        try:
            parts = services()
            if not recovered:
                # This process is the outbox's only sender: a row still "sending" was cut off by a crash.
                if cut_off := await parts.outbox.recover():
                    log.info("outbox: %d write(s) cut off mid-send go again (same idempotency key)", cut_off)
                recovered = True
            hub_is_back = answers_at_failure is not None and parts.backend.answers > answers_at_failure
            due = await parts.outbox.due(waits_too=hub_is_back)
            if due:
                delivered = await deliver_pending(parts.outbox, parts.backend, hub_is_back=hub_is_back)
                if delivered == len(due):
                    current, answers_at_failure = pause, None
                else:
                    current, answers_at_failure = min(current * 2, max_pause), parts.backend.answers
            else:
                current = pause
        except asyncio.CancelledError:
            raise
        except Exception:  # keep syncing whatever one round ran into
            log.exception("outbox sync round failed")
            current = min(current * 2, max_pause)
        await asyncio.sleep(current)


def attach(app: Any) -> None:
    """Run ``run_forever`` for the life of the Sanic app of the action server."""

    @app.listener("after_server_start")
    async def _start(app: Any, _loop: Any) -> None:
        app.ctx.outbox_sync = asyncio.get_running_loop().create_task(run_forever())
        log.info("outbox sync started")

    @app.listener("before_server_stop")
    async def _stop(app: Any, _loop: Any) -> None:
        task = getattr(app.ctx, "outbox_sync", None)
        if task is not None:
            task.cancel()
        await services().backend.close()  # the pooled connections to the backend
