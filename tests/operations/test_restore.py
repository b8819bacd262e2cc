"""``assistant restore``: refused, with nothing written, for a wrong key, a damaged archive or a target in use.

Each refusal runs the real command (in this process) and compares the
target before and after, byte for byte.
"""

from __future__ import annotations

import secrets
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.operations.backup import take_backup
from assistant.operations.backup_key import read_key, write_key
from assistant.operations.restore import restore
from tests.operations.clinic import PATIENT, clinic_settings, encounter_ids, integrity, tree
from tests.operations.conftest import LiveBackup
from tests.support.processes import run_assistant


def _flip_a_byte(archive: Path) -> None:
    content = bytearray(archive.read_bytes())
    content[len(content) // 2] ^= 0x01
    archive.write_bytes(bytes(content))


def _cut_short(archive: Path) -> None:
    archive.write_bytes(archive.read_bytes()[:-100])


def _add_bytes(archive: Path) -> None:
    archive.write_bytes(archive.read_bytes() + b"\0" * 16)


def _restore(data_dir: Path, archive: Path, key_file: Path, *options: str) -> tuple[int, str, str]:
    done = run_assistant("--data-dir", str(data_dir), "restore", str(archive), "--key-file", str(key_file), *options)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize(
    "damage, words",
    [
        (_flip_a_byte, "fails its authentication check"),
        (_cut_short, "cut short (truncated)"),
        (_add_bytes, "fails its authentication check"),
    ],
    ids=["a flipped byte", "truncated", "bytes added at the end"],
)
def test_a_damaged_archive_is_refused_and_nothing_is_written(
    live_backup: LiveBackup, tmp_path: Path, damage: Callable[[Path], None], words: str
) -> None:
    archive = tmp_path / live_backup.archive.name
    shutil.copyfile(live_backup.archive, archive)
    damage(archive)
    target = tmp_path / "new" / "data"
    code, _, error = _restore(target, archive, live_backup.settings.backup_key_path)
    assert code == 2
    assert words in error and "Nothing was written." in error
    assert not target.exists()


def test_a_wrong_key_is_refused_by_its_fingerprint_and_nothing_is_written(
    live_backup: LiveBackup, tmp_path: Path
) -> None:
    other_key = tmp_path / "other.key"
    write_key(other_key, secrets.token_bytes(32))
    target = tmp_path / "new" / "data"
    code, _, error = _restore(target, live_backup.archive, other_key)
    assert code == 2
    assert "this archive was made with the backup key of fingerprint" in error and "not with this key" in error
    assert not target.exists()

    not_a_key = tmp_path / "notes.txt"
    not_a_key.write_text("the key is in the cupboard\n")
    code, _, error = _restore(target, live_backup.archive, not_a_key)
    assert code == 2 and f"{not_a_key} is not a backup key" in error
    assert not target.exists()


def test_a_data_dir_in_use_is_refused_without_force_and_moved_aside_with_it(
    live_backup: LiveBackup, tmp_path: Path
) -> None:
    target = tmp_path / "clinic" / "data"
    (target / "secrets").mkdir(parents=True)
    (target / "backend.db").write_bytes(b"the clinic's records of last year")
    (target / "secrets" / "rasa_token").write_text("older token\n")
    before = tree(target)
    (target / "models").mkdir()  # trained here: not in any archive, and left where it is
    (target / "models" / "model-1.tar.gz").write_bytes(b"a trained model")
    key_file = live_backup.settings.backup_key_path

    code, _, error = _restore(target, live_backup.archive, key_file)
    assert code == 2
    assert f"the data directory {target} is not empty (backend.db" in error and "add --force" in error
    assert tree(target) == {**before, "models/model-1.tar.gz": b"a trained model"}

    code, output, error = _restore(target, live_backup.archive, key_file, "--force")
    assert code == 0, error
    [aside] = [path for path in target.iterdir() if path.name.startswith("before-restore-")]
    assert tree(aside) == before  # nothing deleted
    assert (target / "models" / "model-1.tar.gz").read_bytes() == b"a trained model"
    assert f"earlier contents are in {aside}" in output
    assert integrity(target / "backend.db") == "ok"
    assert live_backup.committed_before <= encounter_ids(f"sqlite:///{target / 'backend.db'}")
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    assert not [path for path in target.iterdir() if path.name.startswith(".restore-staging")]


def test_check_reads_the_whole_archive_and_writes_nothing(live_backup: LiveBackup, tmp_path: Path) -> None:
    target = tmp_path / "new" / "data"
    code, output, error = _restore(target, live_backup.archive, live_backup.settings.backup_key_path, "--check")
    assert code == 0, error
    assert "databases/backend.db" in output and "Every member matches its checksum." in output
    assert PATIENT not in output
    assert not target.exists()


def test_the_settings_file_goes_back_where_this_machine_reads_it(
    live_backup: LiveBackup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_file = tmp_path / "old-machine.toml"
    settings_file.write_text("backup_keep = 3\n")
    monkeypatch.setenv("ASSISTANT_CONFIG", str(settings_file))
    archive = take_backup(live_backup.settings, to=tmp_path / "usb", keep=0)
    monkeypatch.delenv("ASSISTANT_CONFIG")

    target = clinic_settings(tmp_path / "new" / "data")
    new_file = tmp_path / "new-machine.toml"
    restored = restore(archive, read_key(live_backup.settings.backup_key_path), target, settings_target=new_file)
    assert new_file.read_text() == "backup_keep = 3\n"
    assert stat.S_IMODE(new_file.stat().st_mode) == 0o600
    assert f"settings/assistant.toml -> {new_file}" in restored.restored
    assert (target.data_dir / "secrets" / "backup.key").is_file()  # the key used goes on making backups


def test_a_machine_with_only_its_trained_models_counts_as_empty(live_backup: LiveBackup, tmp_path: Path) -> None:
    target = tmp_path / "new" / "data"
    (target / "models").mkdir(parents=True)
    (target / "models" / "model-1.tar.gz").write_bytes(b"a trained model")
    code, _, error = _restore(target, live_backup.archive, live_backup.settings.backup_key_path)
    assert code == 0, error
    assert (target / "models" / "model-1.tar.gz").read_bytes() == b"a trained model"
    assert not [path for path in target.iterdir() if path.name.startswith("before-restore-")]
    assert integrity(target / "backend.db") == "ok"
