"""The model manager: registry, install from a directory or zip, resumable verified download."""

from __future__ import annotations

import hashlib
import http.server
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from voice.errors import ModelError, VoiceError
from voice.model_layout import MANIFEST
from voice.models import REGISTRY, ModelSpec, default_model, download, fetch, find_spec, install, installed_models
from voice.vosk_engine import VoskEngine

pytestmark = pytest.mark.slow


def test_registry_lists_the_small_indian_english_us_english_and_hindi_models() -> None:
    assert [spec.key for spec in REGISTRY] == ["small-en-in", "small-en-us", "small-hi"]
    for spec in REGISTRY:
        assert 30 * 2**20 < spec.size < 50 * 2**20  # the "small" models are 36-42 MiB
        assert spec.download_url == f"https://alphacephei.com/vosk/models/{spec.name}.zip"
        assert spec.checksum_source  # where each checksum came from is stated
    assert find_spec("small-hi").language == "hi"
    with pytest.raises(VoiceError, match="choose from small-en-in"):
        find_spec("large-en")


@pytest.fixture(scope="module")
def installed(korean_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Korean model installed once from its directory (copied, manifest written, load-checked)."""
    root = tmp_path_factory.mktemp("voice-models")
    install(korean_model_dir, root, name="vosk-model-small-ko")
    return root


def test_install_from_a_directory(installed: Path) -> None:
    [model] = installed_models(installed)
    assert model.ok and model.name == "vosk-model-small-ko"
    assert (model.path / MANIFEST).is_file()
    assert default_model(installed) == model.path
    assert VoskEngine(model.path).language == "ko"


def test_damage_after_install_is_reported_as_corruption(installed: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "vosk-model-small-ko"
    shutil.copytree(installed / "vosk-model-small-ko", copy, copy_function=__import__("os").link)
    victim = copy / "conf" / "mfcc.conf"
    text = victim.read_text()
    victim.unlink()
    victim.write_text(text[: len(text) // 2])
    [model] = installed_models(tmp_path)
    assert not model.ok and "corrupt" in str(model.problem)
    with pytest.raises(ModelError, match="corrupt: conf/mfcc.conf changed size.*assistant models"):
        VoskEngine(copy)


def test_install_refuses_what_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "README").write_text("not a model")
    with pytest.raises(ModelError, match="not a complete Vosk model"):
        install(tmp_path / "junk", tmp_path / "root")
    (tmp_path / "junk.zip").write_bytes(b"PK not really")
    with pytest.raises(ModelError, match="not a valid zip"):
        install(tmp_path / "junk.zip", tmp_path / "root")
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as archive:
        archive.writestr("../../outside.txt", "escape")
    with pytest.raises(ModelError, match="outside the model folder"):
        install(tmp_path / "evil.zip", tmp_path / "root")
    assert not (tmp_path / "outside.txt").exists()
    assert installed_models(tmp_path / "root") == []


class _Server(http.server.ThreadingHTTPServer):
    payload: bytes
    cut_after: int | None  # drop the connection after this many bytes, once
    ranges: list[str]


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves one file with Range support; can break off once, like a flaky link."""

    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        data = self.server.payload
        start = 0
        requested = self.headers.get("Range")
        if requested:
            self.server.ranges.append(requested)
            start = int(requested.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        body = data[start:]
        if self.server.cut_after is not None:
            body, self.server.cut_after = body[: self.server.cut_after], None
            self.wfile.write(body)
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[_Server]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.cut_after, httpd.ranges = None, []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()


def _zip_of(model_dir: Path, target: Path) -> bytes:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in sorted(model_dir.rglob("*")):
            if path.is_file() and path.name != MANIFEST:
                archive.write(path, f"vosk-model-small-ko/{path.relative_to(model_dir)}")
    return target.read_bytes()


def test_download_resumes_verifies_and_installs(server: _Server, installed: Path, tmp_path: Path) -> None:
    payload = _zip_of(installed / "vosk-model-small-ko", tmp_path / "model.zip")
    server.payload, server.cut_after = payload, len(payload) // 3
    spec = ModelSpec(
        key="test-ko",
        name="vosk-model-small-ko",
        language="ko",
        description="test",
        size=len(payload),
        checksum="sha256:" + hashlib.sha256(payload).hexdigest(),
        checksum_source="computed by the test",
        url=f"http://127.0.0.1:{server.server_port}/m.zip",
    )
    root = tmp_path / "root"
    with pytest.raises(VoiceError, match="next try resumes"):
        download(spec, root, progress_stream=None)
    partial = root / ".downloads" / "vosk-model-small-ko.zip.part"
    assert 0 < partial.stat().st_size < len(payload)

    path, sha256 = download(spec, root, progress_stream=None)
    assert server.ranges == [f"bytes={len(payload) // 3}-"]  # the second try asked only for the rest
    assert sha256 == hashlib.sha256(payload).hexdigest()
    assert path == root / "vosk-model-small-ko" and [m.ok for m in installed_models(root)] == [True]
    assert not (root / ".downloads" / "vosk-model-small-ko.zip").exists()


def test_download_with_a_wrong_checksum_is_rejected_and_discarded(server: _Server, tmp_path: Path) -> None:
    server.payload = b"x" * 1000
    spec = ModelSpec(
        key="t",
        name="bad",
        language="en",
        description="",
        size=1000,
        checksum="md5:" + "0" * 32,
        checksum_source="",
        url=f"http://127.0.0.1:{server.server_port}/b.zip",
    )
    with pytest.raises(ModelError, match="fails its md5 check"):
        download(spec, tmp_path, progress_stream=None)
    assert not list((tmp_path / ".downloads").iterdir())  # nothing damaged is kept to resume from


def test_download_without_a_network_explains_the_offline_route(tmp_path: Path) -> None:
    with pytest.raises(VoiceError, match="assistant models install FILE.zip"):
        fetch("http://127.0.0.1:9/none.zip", tmp_path / "none.zip", 100, timeout=2)
