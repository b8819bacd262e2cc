"""Audio sources the loop reads from: a WAV file (as fast as possible, or paced
like a live microphone) and, in ``voice.mic``, the microphone itself.

A source gives blocks with ``read(timeout)``, says when it is ``exhausted``,
and can ``drain()`` what arrived while the assistant was speaking, which is
how the loop avoids hearing itself.
"""

from __future__ import annotations

import time
from typing import Protocol

from voice.audio import Audio, blocks

BLOCK_SECONDS = 0.05


class AudioSource(Protocol):
    rate: int
    live: bool  # audio arrives in real time (a microphone, or a paced file)

    @property
    def exhausted(self) -> bool: ...

    def read(self, timeout: float | None = None) -> Audio | None: ...

    def drain(self) -> int: ...


class FileSource:
    """A clip delivered block by block; ``paced=True`` delivers it in real time."""

    def __init__(self, audio: Audio, paced: bool = False) -> None:
        self.rate = audio.rate
        self.live = paced
        self._blocks = list(blocks(audio, BLOCK_SECONDS))
        self._next = 0
        self._started: float | None = None

    @property
    def exhausted(self) -> bool:
        return self._next >= len(self._blocks)

    def _due(self) -> int:
        """How many blocks a live source would have delivered by now."""
        if not self.live:
            return len(self._blocks)
        if self._started is None:
            self._started = time.monotonic()
        return int((time.monotonic() - self._started) / BLOCK_SECONDS) + 1

    def read(self, timeout: float | None = None) -> Audio | None:
        if self.exhausted:
            return None
        if self._next >= self._due():
            wait = (self._next * BLOCK_SECONDS) - (time.monotonic() - (self._started or time.monotonic()))
            if timeout is not None and wait > timeout:
                time.sleep(timeout)
                return None
            time.sleep(max(0.0, wait))
        block = self._blocks[self._next]
        self._next += 1
        return block

    def drain(self) -> int:
        """Skip what a live source delivered meanwhile; a file read at full speed loses nothing."""
        if not self.live:
            return 0
        due = min(self._due(), len(self._blocks))
        dropped = max(0, due - self._next)
        self._next = max(self._next, due)
        return dropped
