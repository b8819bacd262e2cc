"""``assistant backup``: one encrypted archive of every database, taken while they are written to; its key; pruning."""

from __future__ import annotations

import dataclasses
import re
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from actions.outbox import Outbox, deliver_pending
from assistant.db.device import open_engine
from assistant.http.backend_client import BackendClient
from assistant.operations.backup import ARCHIVE_NAME, archives, prune, take_backup
from assistant.operations.backup_key import fingerprint, read_key
from assistant.operations.errors import RestoreRefused
from assistant.operations.reading import read_archive
from assistant.operations.restore import restore
from assistant.operations.sources import sqlite_path
from tests.operations.clinic import PATIENT, SECRET_VALUE, clinic_settings, encounter_ids, integrity, make_clinic
from tests.operations.conftest import LiveBackup
from tests.support.backend import serve_backend
from tests.support.in_process import run_on_own_loop, seeded
from tests.support.postgres import PostgresServer
from tests.support.processes import run_assistant

SQLITE_HEADER = b"SQLite format 3\0"


def test_a_backup_taken_while_encounters_are_saved_restores_every_one_committed_before_it(
    live_backup: LiveBackup, tmp_path: Path
) -> None:
    target = clinic_settings(tmp_path / "new-machine" / "data")
    key = read_key(live_backup.settings.backup_key_path)
    restore(live_backup.archive, key, target, settings_target=tmp_path / "assistant.toml")

    restored = Path(sqlite_path(target.database_url))
    assert integrity(restored) == "ok"
    assert live_backup.committed_before <= encounter_ids(target.database_url)
    assert integrity(target.data_dir / "actions.db") == "ok"  # the outbox, with its waiting record
    assert (target.data_dir / "secrets" / "rasa_token").read_text().strip() == SECRET_VALUE
    for path in [restored, target.data_dir / "secrets" / "rasa_token", target.data_dir / "actions.db"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path

    # The backend's own app on the restored database serves the records to the token made before the backup.
    backend = serve_backend(target.database_url)
    try:
        answer = requests.get(
            f"{backend.url}/encounters",
            params={"patient_ref": PATIENT, "limit": "200"},
            headers={"Authorization": f"Bearer {live_backup.token}"},
            timeout=10,
        )
    finally:
        backend.stop()
    assert answer.status_code == 200, answer.text
    assert live_backup.committed_before <= {item["id"] for item in answer.json()["items"]}


def test_the_archive_is_private_encrypted_and_lists_what_it_holds(live_backup: LiveBackup) -> None:
    archive = live_backup.archive
    assert ARCHIVE_NAME.fullmatch(archive.name)
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    content = archive.read_bytes()
    for clear in (SQLITE_HEADER, PATIENT.encode(), SECRET_VALUE.encode(), b"manifest.json"):
        assert clear not in content
    assert [path.name for path in archive.parent.iterdir()] == [archive.name]  # no partial file left beside it

    manifest = read_archive(archive, read_key(live_backup.settings.backup_key_path))
    members = {member.name: member for member in manifest.members}
    assert members["databases/backend.db"].kind == "sqlite"
    assert members["databases/backend.db"].roles == ("backend",)
    assert members["databases/backend.db"].check == "ok"
    assert members["databases/actions.db"].kind == "sqlite"
    assert members["secrets/rasa_token"].kind == "secret"
    assert "secrets/backup.key" not in members  # never inside the archives it opens
    assert all(re.fullmatch(r"[0-9a-f]{64}", member.sha256) and member.size > 0 for member in manifest.members)
    assert {skipped.what for skipped in manifest.skipped} == {"the channels database", "the tracker database"}
    assert manifest.app_version == "0.1.0" and manifest.created_at.endswith("Z")


def test_the_key_is_made_once_0600_and_announced_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    make_clinic(clinic_settings(data_dir))
    first = run_assistant("--data-dir", str(data_dir), "backup")
    second = run_assistant("--data-dir", str(data_dir), "backup")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr

    key_file = data_dir / "secrets" / "backup.key"
    key = read_key(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert f"A new backup key was made: {key_file} (fingerprint {fingerprint(key)})" in first.stdout
    assert "Keep a copy apart from the backups" in first.stdout
    assert "backup key" not in second.stdout
    for output in (first.stdout + first.stderr, second.stdout + second.stderr):
        assert key.hex() not in output
    made = archives(data_dir / "backups")
    assert len(made) == 2
    for _, archive in made:
        read_archive(archive, key)  # both sealed with the one key


def test_a_backup_to_another_folder_keeps_the_newest_n_there_and_nothing_else_is_touched(tmp_path: Path) -> None:
    settings = clinic_settings(tmp_path / "data")
    make_clinic(settings)
    usb = tmp_path / "usb" / "clinic-backups"
    usb.mkdir(parents=True)
    (usb / "notes.txt").write_text("kept by the block IT person")
    start = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
    for day in range(4):
        take_backup(settings, to=usb, keep=2, now=start + timedelta(days=day))
    assert sorted(path.name for path in usb.iterdir()) == [
        "assistant-backup-20261203T020000Z.tar.enc",
        "assistant-backup-20261204T020000Z.tar.enc",
        "notes.txt",
    ]
    assert not (settings.data_dir / "backups").exists()  # --to writes nowhere else
    assert not [path for path in settings.data_dir.iterdir() if path.name.startswith(".backup-staging")]
    assert prune(usb, 0) == []  # 0 keeps them all


def test_a_postgresql_database_without_pg_dump_is_left_out_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqlite_clinic = clinic_settings(tmp_path / "data")
    make_clinic(sqlite_clinic)
    settings = dataclasses.replace(sqlite_clinic, db_url="postgresql://assistant:secret@db-host/backend")
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))  # this machine has no PostgreSQL client
    said: list[str] = []
    archive = take_backup(settings, announce=said.append)

    manifest = read_archive(archive, read_key(settings.backup_key_path))
    assert {member.name for member in manifest.members} == {"databases/actions.db", "secrets/rasa_token"}
    assert [skipped.what for skipped in manifest.skipped if "pg_dump" in skipped.reason] == ["the backend database"]
    [warning] = [line for line in said if "pg_dump is not installed" in line]
    assert "the backend database (PostgreSQL, postgresql://assistant:***@db-host/backend)" in warning


def test_a_postgresql_database_is_dumped_and_restored_into_the_database_the_settings_name(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    source = clinic_settings(tmp_path / "district" / "data", db_url=postgres.create_database("backup_source"))
    seeded(source.database_url)
    with create_engine(source.database_url, future=True).begin() as connection:
        connection.execute(
            text(
                "INSERT INTO encounters (patient_ref, worker_id, facility_id, channel, created_at, updated_at) "
                "VALUES (:patient, 'W001', 'hwc-ajari', 'api', now(), now())"
            ),
            {"patient": PATIENT},
        )
    archive = take_backup(source)
    manifest = read_archive(archive, read_key(source.backup_key_path))
    [dump] = [member for member in manifest.members if member.roles == ("backend",)]
    assert (dump.name, dump.kind) == ("databases/backend.pgdump", "postgresql")
    assert PATIENT.encode() not in archive.read_bytes()

    target = clinic_settings(tmp_path / "new" / "data", db_url=postgres.create_database("backup_target"))
    key = read_key(source.backup_key_path)
    restore(archive, key, target, settings_target=tmp_path / "assistant.toml")
    assert _patients(target.database_url) == [PATIENT]

    again = clinic_settings(tmp_path / "again" / "data", db_url=target.database_url)
    with pytest.raises(RestoreRefused, match="PostgreSQL database for databases/backend.pgdump has .* tables"):
        restore(archive, key, again, settings_target=tmp_path / "assistant.toml")
    restore(archive, key, again, settings_target=tmp_path / "assistant.toml", force=True)
    assert _patients(target.database_url) == [PATIENT]
    with create_engine(target.database_url, future=True).connect() as connection:
        aside = (
            connection.execute(
                text("SELECT table_schema FROM information_schema.tables WHERE table_name = 'encounters'")
            )
            .scalars()
            .all()
        )
    assert sorted(aside)[0].startswith("before_restore_") and "public" in aside  # the old tables kept


def _patients(db_url: str) -> list[str]:
    with create_engine(db_url, future=True).connect() as connection:
        return list(connection.execute(text("SELECT patient_ref FROM public.encounters")).scalars())


def test_after_a_restore_the_record_waiting_in_the_outbox_reaches_the_hub_exactly_once(
    live_backup: LiveBackup, tmp_path: Path
) -> None:
    """The action server's offline outbox comes back with its waiting record, and delivering it twice (a
    restarted action server, a second sync round) saves it once: its idempotency key travelled with it."""
    target = clinic_settings(tmp_path / "restored" / "data")
    restore(
        live_backup.archive,
        read_key(live_backup.settings.backup_key_path),
        target,
        settings_target=tmp_path / "assistant.toml",
    )
    backend = serve_backend(target.database_url)
    try:
        before = encounter_ids(target.database_url)
        service_token = backend.token("service", None)

        async def deliver_twice() -> list[int]:
            store = Outbox(open_engine(target.data_dir))
            client = BackendClient(backend.url, service_token)
            try:
                return [await deliver_pending(store, client, hub_is_back=True) for _ in range(2)]
            finally:
                await client.close()

        assert run_on_own_loop(deliver_twice) == [1, 0]
        assert len(encounter_ids(target.database_url) - before) == 1
    finally:
        backend.stop()
