"""The conversation lock of a Rasa server killed mid-turn is not waited for by the other servers.

Rasa's Redis lock store on a real Redis, with each ticket's holder
(``assistant.rasa_server.locks``); the holder is a real second process, killed
with SIGKILL while it holds a worker's conversation.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from rasa.shared.utils.common import class_from_module_path
from rasa.utils.endpoints import EndpointConfig

from assistant.core.config import PROJECT_DIR
from assistant.rasa_server.locks import HeldRedisLockStore
from assistant.stack.endpoints import HELD_REDIS_LOCK_STORE
from tests.support.redis import RedisServer

# A second process that takes worker W001's conversation lock and keeps it until it is killed.
HOLDER = """
import asyncio, sys
from rasa.utils.endpoints import EndpointConfig
from assistant.rasa_server.locks import HeldRedisLockStore

async def main() -> None:
    store = HeldRedisLockStore(EndpointConfig(url="127.0.0.1", port=int(sys.argv[1]), db=0))
    async with store.lock("W001"):
        print("holding", flush=True)
        await asyncio.sleep(600)

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


async def _acquired_within(store: HeldRedisLockStore, seconds: float) -> bool:
    async def take() -> None:
        async with store.lock("W001", wait_time_in_seconds=0.1):
            pass

    try:
        await asyncio.wait_for(take(), seconds)
    except asyncio.TimeoutError:
        return False
    return True


async def test_a_killed_holders_ticket_is_dropped_a_live_ones_is_waited_for(redis: RedisServer) -> None:
    assert class_from_module_path(HELD_REDIS_LOCK_STORE) is HeldRedisLockStore  # what endpoints.yml names
    store = HeldRedisLockStore(EndpointConfig(url="127.0.0.1", port=redis.port, db=0))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(redis.port)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        assert not await _acquired_within(store, 1.0)  # a turn still running keeps the conversation
        os.kill(holder.pid, signal.SIGKILL)
        # Its ticket would last Rasa's 60 s; its holder is provably gone, so it is dropped at the next look.
        assert await _acquired_within(store, 2.0)
    finally:
        holder.kill()
        holder.wait()
