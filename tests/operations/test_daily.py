"""The daily backup ``assistant up`` takes: when it is due, what a failure does, and the service that runs it."""

from __future__ import annotations

import dataclasses
import logging
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from assistant.core.config import load_settings, settings_environment
from assistant.operations.backup import archives, daily_backup_due, last_backup_age, take_backup
from assistant.operations.daily import backup_if_due
from assistant.stack.backup_service import SERVICE_NAME, backup_service
from assistant.stack.services import stack_services
from assistant.stack.supervisor import Supervisor
from tests.operations.clinic import clinic_settings, make_clinic


def test_a_backup_is_due_a_day_after_the_last_one(tmp_path: Path) -> None:
    settings = clinic_settings(tmp_path / "data")
    make_clinic(settings)
    taken = datetime(2026, 12, 1, 2, 0, 0, tzinfo=timezone.utc)
    assert daily_backup_due(settings, taken) and last_backup_age(settings, taken) is None
    take_backup(settings, now=taken)
    assert last_backup_age(settings, taken + timedelta(hours=5)) == 5 * 3600
    assert not daily_backup_due(settings, taken + timedelta(hours=23))
    assert daily_backup_due(settings, taken + timedelta(hours=24))


def test_a_failed_daily_backup_is_logged_in_words_and_the_next_one_is_taken(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = clinic_settings(tmp_path / "data")
    make_clinic(settings)
    (tmp_path / "usb").write_text("a file where the backup folder should be")
    unwritable = dataclasses.replace(settings, backup_dir=str(tmp_path / "usb" / "backups"))
    with caplog.at_level(logging.INFO, logger="assistant.operations"):
        assert backup_if_due(unwritable) is None
    [failure] = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert failure.getMessage().startswith(f"the daily backup failed: cannot make the backup folder {tmp_path}")
    assert "tried again in 60 minutes" in failure.getMessage() and failure.exc_info is None

    archive = backup_if_due(settings)
    assert archive is not None and archive.is_file()
    assert backup_if_due(settings) is None  # one a day


def test_assistant_up_runs_the_daily_backup_as_a_service_of_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = clinic_settings(tmp_path / "data")
    make_clinic(settings)
    spec = backup_service(settings, settings_environment(settings))
    told = capsys.readouterr().out
    assert f"A new backup key was made: {settings.backup_key_path}" in told  # on up's own terminal
    assert spec.name in [service.name for service in stack_services(settings, tmp_path / "model.tar.gz", "t", "r")]
    assert "backup key" not in capsys.readouterr().out  # once only

    supervisor = Supervisor([spec], settings.data_dir / "logs")
    supervisor.start_all()
    try:
        deadline = time.monotonic() + 60
        while not archives(settings.backup_path) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        supervisor.stop_all()
    assert len(archives(settings.backup_path)) == 1, (settings.data_dir / "logs" / f"{SERVICE_NAME}.log").read_text()


def test_the_backup_settings_come_from_the_environment_and_default_into_the_data_dir(tmp_path: Path) -> None:
    defaults = load_settings(env={"ASSISTANT_DATA_DIR": str(tmp_path / "data")})
    assert defaults.backup_path == tmp_path / "data" / "backups"
    assert defaults.backup_key_path == tmp_path / "data" / "secrets" / "backup.key"
    assert defaults.backup_keep == 7
    chosen = load_settings(
        env={
            "ASSISTANT_BACKUP_DIR": str(tmp_path / "usb"),
            "ASSISTANT_BACKUP_KEY_FILE": str(tmp_path / "key-usb" / "backup.key"),
            "ASSISTANT_BACKUP_KEEP": "3",
        }
    )
    assert (chosen.backup_path, chosen.backup_key_path, chosen.backup_keep) == (
        tmp_path / "usb",
        tmp_path / "key-usb" / "backup.key",
        3,
    )
