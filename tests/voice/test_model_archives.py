"""A voice-model zip is refused before extraction when it would unpack too large or to too many files.

The archives are crafted here: a member of zeros that compresses to almost
nothing but unpacks large (the cap is lowered through ``install``'s
parameter instead of writing gigabytes), and one whose header lies about
its size.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest

from voice.errors import ModelError
from voice.models import install, installed_models

MIB = 2**20
LAYOUT = ("am/final.mdl", "conf/mfcc.conf", "conf/model.conf", "graph/HCLG.fst", "graph/words.txt")


def _model_zip(path: Path, extra: dict[str, int] | None = None) -> Path:
    """A zip with a Vosk model's layout, plus ``extra`` members of that many zero bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in LAYOUT:
            archive.writestr(f"vosk-model-test/{name}", "--sample-frequency=16000\n")
        for name, size in (extra or {}).items():
            with archive.open(f"vosk-model-test/{name}", "w") as member:
                for _ in range(size // MIB):
                    member.write(bytes(MIB))
    return path


def test_a_model_zip_within_the_limits_installs(tmp_path: Path) -> None:
    archive = _model_zip(tmp_path / "model.zip", {"am/extra.bin": 2 * MIB})
    path = install(archive, tmp_path / "root", verify_load=False, max_bytes=4 * MIB, max_members=10)
    assert (path / "am" / "extra.bin").stat().st_size == 2 * MIB
    assert [model.ok for model in installed_models(tmp_path / "root")] == [True]


def test_a_zip_bomb_is_refused_before_anything_is_extracted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = _model_zip(tmp_path / "bomb.zip", {"am/zeros.bin": 64 * MIB})
    assert archive.stat().st_size < MIB  # 64 MiB of zeros compress to almost nothing
    opened: list[str] = []
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(
        zipfile.ZipFile, "open", lambda self, name, *a, **k: opened.append(str(name)) or real_open(self, name, *a, **k)
    )
    with pytest.raises(ModelError, match=r"unpacks to 0\.1 GiB, more than the 0\.0 GiB"):
        install(archive, tmp_path / "root", verify_load=False, max_bytes=32 * MIB)
    assert opened == []  # no member was read, so nothing was written
    assert installed_models(tmp_path / "root") == []


def test_an_archive_with_too_many_members_is_refused(tmp_path: Path) -> None:
    archive = _model_zip(tmp_path / "many.zip", {f"graph/part-{n}": 0 for n in range(30)})
    with pytest.raises(ModelError, match="35 entries, more than 20"):
        install(archive, tmp_path / "root", verify_load=False, max_members=20)
    assert installed_models(tmp_path / "root") == []


def _declare_size(archive: Path, name: str, size: int) -> None:
    """Rewrite the uncompressed size in the member's local and central headers: the header now lies."""
    data = bytearray(archive.read_bytes())
    # (signature, offset of the uncompressed size, of the name's length, of the name) in each kind of header
    for signature, size_at, length_at, name_at in ((b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46)):
        start = data.find(signature)
        while start != -1:
            (length,) = struct.unpack_from("<H", data, start + length_at)
            if data[start + name_at : start + name_at + length] == name.encode():
                struct.pack_into("<I", data, start + size_at, size)
            start = data.find(signature, start + 4)
    archive.write_bytes(bytes(data))


def test_an_entry_holding_more_than_its_header_declares_stops_the_install(tmp_path: Path) -> None:
    archive = _model_zip(tmp_path / "liar.zip", {"am/zeros.bin": 16 * MIB})
    _declare_size(archive, "vosk-model-test/am/zeros.bin", 1000)
    with zipfile.ZipFile(archive) as opened:
        assert opened.getinfo("vosk-model-test/am/zeros.bin").file_size == 1000  # what the limits see
    with pytest.raises(
        ModelError, match="entry 'vosk-model-test/am/zeros.bin' holds more than the 1000 bytes it declares"
    ):
        install(archive, tmp_path / "root", verify_load=False, max_bytes=4 * MIB)
    assert installed_models(tmp_path / "root") == []
