"""The encrypted container of a backup: AES-256-GCM over the archive in 1 MiB chunks.

No cipher of our own: this is the STREAM construction (Hoang, Reyhanitabar,
Rogaway and Vizár, "Online authenticated-encryption and its nonce-reuse
misuse-resistance", 2015) as Tink's AES-GCM-HKDF streaming AEAD uses it, on
the ``cryptography`` library's AES-GCM and HKDF:

- a header: ``MAGIC``, the format version, the chunk size, the key's
  fingerprint, a random salt and a random nonce prefix;
- a key for this archive alone, HKDF-SHA256(backup key, salt);
- each chunk sealed with AES-GCM under the nonce (prefix, chunk number, last?),
  with the whole header as associated data.

So every byte is authenticated, and so is the order of the chunks: a changed
byte, a swapped or missing chunk, an archive cut short (no chunk marked last)
and bytes added after the end are all refused, and nothing is handed on
before its chunk has been checked. The fingerprint tells a wrong key apart
from a damaged archive. Memory stays at a chunk or two whatever the size.
"""

from __future__ import annotations

import hmac
import io
import secrets
import struct
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from assistant.operations.backup_key import KEY_BYTES, fingerprint
from assistant.operations.errors import DamagedArchive, WrongKey

MAGIC = b"FABACKUP"
FORMAT_VERSION = 1
CHUNK_BYTES = 1 << 20
TAG_BYTES = 16
SALT_BYTES = 16
NONCE_PREFIX_BYTES = 7
# magic, version, chunk size, key fingerprint, salt, nonce prefix
HEADER = struct.Struct(f">{len(MAGIC)}sBI8s{SALT_BYTES}s{NONCE_PREFIX_BYTES}s")
_LAST_CHUNK_NUMBER = 2**32 - 1
_HKDF_INFO = b"field-assistant backup archive v1"


def _fingerprint_bytes(key: bytes) -> bytes:
    return bytes.fromhex(fingerprint(key).replace("-", ""))


def _chunk_cipher(key: bytes, salt: bytes) -> AESGCM:
    if len(key) != KEY_BYTES:
        raise ValueError(f"a backup key is {KEY_BYTES} bytes")
    derived = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=_HKDF_INFO).derive(key)
    return AESGCM(derived)


def _nonce(prefix: bytes, number: int, last: bool) -> bytes:
    if number > _LAST_CHUNK_NUMBER:
        raise ValueError("archive too large for one key stream")
    return prefix + struct.pack(">IB", number, 1 if last else 0)


class SealingWriter(io.RawIOBase):
    """Writes the container to ``target``; ``close`` seals the last chunk (``target`` stays open)."""

    def __init__(self, target: IO[bytes], key: bytes, chunk_bytes: int = CHUNK_BYTES) -> None:
        super().__init__()
        salt, prefix = secrets.token_bytes(SALT_BYTES), secrets.token_bytes(NONCE_PREFIX_BYTES)
        self._header = HEADER.pack(MAGIC, FORMAT_VERSION, chunk_bytes, _fingerprint_bytes(key), salt, prefix)
        self._cipher = _chunk_cipher(key, salt)
        self._prefix, self._chunk_bytes = prefix, chunk_bytes
        self._target = target
        self._pending = bytearray()
        self._number = 0
        target.write(self._header)

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("write to a sealed archive")
        self._pending += data
        # A full chunk goes out only once more follows: the last chunk must be known as last when sealed.
        while len(self._pending) > self._chunk_bytes:
            self._seal(bytes(self._pending[: self._chunk_bytes]), last=False)
            del self._pending[: self._chunk_bytes]
        return len(data)

    def _seal(self, plain: bytes, last: bool) -> None:
        nonce = _nonce(self._prefix, self._number, last)
        self._target.write(self._cipher.encrypt(nonce, plain, self._header))
        self._number += 1

    def close(self) -> None:
        if not self.closed:
            self._seal(bytes(self._pending), last=True)
            self._pending.clear()
        super().close()


class OpeningReader(io.RawIOBase):
    """Reads the plain archive back from ``source``, handing on only what has been authenticated.

    The header is checked when it is made: ``WrongKey`` when the archive was
    made with another key, ``DamagedArchive`` when it is no archive of ours.
    Reading raises ``DamagedArchive`` at the first chunk that fails its check,
    at an end cut short and at bytes after the last chunk.
    """

    def __init__(self, source: IO[bytes], key: bytes) -> None:
        super().__init__()
        header = source.read(HEADER.size)
        if len(header) < HEADER.size or not header.startswith(MAGIC):
            raise DamagedArchive("this is not a backup archive of the field assistant, or its beginning is damaged")
        magic, version, chunk_bytes, key_id, salt, prefix = HEADER.unpack(header)
        if version != FORMAT_VERSION:
            raise DamagedArchive(f"archive format {version} is not known to this release (it reads {FORMAT_VERSION})")
        if not hmac.compare_digest(key_id, _fingerprint_bytes(key)):
            found = "-".join(key_id.hex()[index : index + 4] for index in range(0, len(key_id) * 2, 4))
            raise WrongKey(
                f"this archive was made with the backup key of fingerprint {found}, "
                f"not with this key (fingerprint {fingerprint(key)})"
            )
        if not 0 < chunk_bytes <= 64 * CHUNK_BYTES:
            raise DamagedArchive("the archive's header is damaged")
        self._source, self._header = source, header
        self._cipher = _chunk_cipher(key, salt)
        self._prefix, self._sealed_bytes = prefix, chunk_bytes + TAG_BYTES
        self._number = 0
        self._plain = b""
        self._offset = 0
        self._ahead = source.read(self._sealed_bytes)
        self.finished = False  # the chunk marked last has been read and checked

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while self._offset == len(self._plain):
            if self.finished:
                return 0
            self._next_chunk()
        size = min(len(buffer), len(self._plain) - self._offset)
        buffer[:size] = self._plain[self._offset : self._offset + size]
        self._offset += size
        return size

    def _next_chunk(self) -> None:
        sealed, self._ahead = self._ahead, self._source.read(self._sealed_bytes)
        last = not self._ahead  # nothing follows: this one must be the chunk marked last
        if len(sealed) < TAG_BYTES:
            raise DamagedArchive("the archive ends early: it was cut short (truncated)")
        try:
            self._plain = self._cipher.decrypt(_nonce(self._prefix, self._number, last), sealed, self._header)
        except InvalidTag:
            if last:
                raise DamagedArchive(
                    "the archive's end fails its authentication check: it was cut short (truncated) or damaged"
                ) from None
            raise DamagedArchive(
                f"the archive is damaged at chunk {self._number}: it fails its authentication check"
            ) from None
        self._offset = 0
        self._number += 1
        self.finished = last
