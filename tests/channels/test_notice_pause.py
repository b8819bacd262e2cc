"""After a failed read of the hub's notices, turns skip them for a while, but not once the backend answers again.

An offline clinic must not pay the notices' wait on every turn, and a hub
that is back must not keep a worker's news from them for half a minute.
The real backend, in-process, behind the channels' real client.
"""

from __future__ import annotations

import pytest

from assistant.channels import notice_delivery
from assistant.channels.notice_delivery import NoticeDesk
from assistant.http.backend_client import BackendClient
from tests.support.backend import RunningBackend


async def test_a_failed_read_pauses_the_notices_until_the_backend_answers_again(
    sqlite_backend: RunningBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = BackendClient(sqlite_backend.url, sqlite_backend.token("service"))
    desk = NoticeDesk(client)
    try:
        with monkeypatch.context() as slow_hub:
            slow_hub.setattr(notice_delivery, "TURN_FETCH_SECONDS", 1e-6)  # the read is cut off: a failure
            assert await desk.before_turn(None, "W001", "rest") == []
        answered = client.answers

        assert await desk.before_turn(None, "W001", "rest") == []
        assert client.answers == answered  # paused: not even asked

        assert await client.worker("W001") is not None  # another call gets its answer: the hub is back
        answered = client.answers
        assert await desk.before_turn(None, "W001", "rest") == []  # nothing pending for W001
        assert client.answers == answered + 1  # asked again
    finally:
        await client.close()
