"""The encrypted container on its own, with small chunks: what it hands back is exactly what was sealed, or nothing.

A real archive of a clinic is one chunk or a few; chunks of 64 bytes make
the chunk-level attacks (a swapped chunk, an end cut at a chunk's edge) cheap.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable

import pytest

from assistant.operations.archive import HEADER, TAG_BYTES, OpeningReader, SealingWriter
from assistant.operations.errors import DamagedArchive, WrongKey

CHUNK = 64
SEALED_CHUNK = CHUNK + TAG_BYTES
KEY = secrets.token_bytes(32)
PLAIN = bytes(range(256)) * 4  # 1024 bytes: exactly 16 chunks, the last one full


def _sealed(plain: bytes = PLAIN) -> bytes:
    target = io.BytesIO()
    writer = SealingWriter(target, KEY, chunk_bytes=CHUNK)
    for start in range(0, len(plain), 100):  # writes that do not fall on chunk edges
        writer.write(plain[start : start + 100])
    writer.close()
    return target.getvalue()


def _opened(sealed: bytes, key: bytes = KEY) -> bytes:
    return OpeningReader(io.BytesIO(sealed), key).read()


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, len(PLAIN)])
def test_what_is_sealed_opens_unchanged(size: int) -> None:
    assert _opened(_sealed(PLAIN[:size])) == PLAIN[:size]


def test_the_same_content_seals_differently_each_time() -> None:
    assert _sealed() != _sealed()
    assert PLAIN[:CHUNK] not in _sealed()


def _chunks(sealed: bytes) -> tuple[bytes, list[bytes]]:
    body = sealed[HEADER.size :]
    return sealed[: HEADER.size], [body[start : start + SEALED_CHUNK] for start in range(0, len(body), SEALED_CHUNK)]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda header, chunks: header + b"".join(chunks[:-1]),  # cut at a chunk's edge
        lambda header, chunks: header + b"".join([chunks[1], chunks[0], *chunks[2:]]),  # two chunks swapped
        lambda header, chunks: header + b"".join(chunks[:3] + chunks[4:]),  # one chunk left out
        lambda header, chunks: header + b"".join(chunks) + chunks[-1],  # the last chunk twice
        lambda header, chunks: header[:-1] + bytes([header[-1] ^ 1]) + b"".join(chunks),  # the header changed
    ],
    ids=["cut at a chunk edge", "chunks swapped", "a chunk left out", "a chunk added", "header changed"],
)
def test_every_change_to_the_chunks_is_refused(tamper: Callable[[bytes, list[bytes]], bytes]) -> None:
    header, chunks = _chunks(_sealed())
    with pytest.raises(DamagedArchive):
        _opened(tamper(header, chunks))


def test_a_wrong_key_is_told_apart_from_damage() -> None:
    with pytest.raises(WrongKey, match="made with the backup key of fingerprint"):
        _opened(_sealed(), secrets.token_bytes(32))
    with pytest.raises(DamagedArchive, match="not a backup archive"):
        _opened(b"SQLite format 3\0" + PLAIN)
