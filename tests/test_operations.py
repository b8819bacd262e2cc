"""Running it unattended (issue 25): the systemd unit, rotated logs, and ``assistant status``.

The unit is written by the real command and checked by systemd's own
``systemd-analyze verify``. Rotation is the supervisor's real log copying of
a real child process. ``assistant status`` runs against databases written by
the real outbox and channel state, with no service running (its words when
they are down); on the running stack it is tested in tests/test_conversations.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from actions.outbox import Outbox
from assistant.channels.state import ChannelState, OutgoingReply
from assistant.core.backup_age import archive_name, now_utc
from assistant.core.config import load_settings
from assistant.db.device import open_engine
from assistant.stack.log_files import LogRotation
from assistant.stack.process import ManagedProcess
from tests.support.processes import free_port, run_assistant

CLINIC_DATA = "/srv/clinic/assistant-data"  # a lasting data dir, as a clinic's would be (never created here)


def _install(tmp_path: Path, *options: str, env: dict[str, str] | None = None) -> str:
    done = run_assistant("service", "install", "--user", "clinic", "--to", str(tmp_path), *options, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_service_install_writes_the_unit_for_the_user_and_data_dir(tmp_path: Path) -> None:
    said = _install(tmp_path, "--data-dir", CLINIC_DATA)
    unit = (tmp_path / "assistant.service").read_text()
    lines = set(unit.splitlines())
    assert "User=clinic" in lines
    assert f"Environment=ASSISTANT_DATA_DIR={CLINIC_DATA}" in lines
    assert f"ReadWritePaths={CLINIC_DATA}" in lines
    assert {"Restart=on-failure", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes"} <= lines
    assert "After=network-online.target" in lines  # SQLite: no database server to wait for
    exec_start = next(line for line in lines if line.startswith("ExecStart="))
    program = exec_start.removeprefix("ExecStart=").split()[0]
    assert Path(program).is_file() and exec_start.endswith(" up")
    assert "@@" not in unit
    assert "systemctl daemon-reload && systemctl enable --now assistant" in said
    assert oct((tmp_path / "assistant.service").stat().st_mode & 0o777) == "0o644"


def test_with_postgresql_the_unit_starts_after_it(tmp_path: Path) -> None:
    _install(tmp_path, "--data-dir", CLINIC_DATA, env={"ASSISTANT_DB_URL": "postgresql://assistant@localhost/backend"})
    assert "After=network-online.target postgresql.service" in (tmp_path / "assistant.service").read_text()


def test_a_data_dir_under_tmp_is_refused(tmp_path: Path) -> None:
    done = run_assistant("service", "install", "--to", str(tmp_path), "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 2 and "temporary directory" in done.stderr
    assert not (tmp_path / "assistant.service").exists()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed (apt: systemd)")
@pytest.mark.parametrize("db_url", ["", "postgresql://assistant@localhost/backend"])
def test_systemd_accepts_the_unit(tmp_path: Path, db_url: str) -> None:
    _install(tmp_path, "--data-dir", CLINIC_DATA, env={"ASSISTANT_DB_URL": db_url})
    checked = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "assistant.service")], capture_output=True, text=True, timeout=60
    )
    # Any complaint (an unknown key, a value it cannot parse, a missing program) is a failure.
    assert checked.returncode == 0 and checked.stdout + checked.stderr == "", checked.stdout + checked.stderr


def test_a_services_log_rotates_at_the_configured_size(tmp_path: Path) -> None:
    settings = load_settings({"ASSISTANT_LOG_MAX_BYTES": "4000", "ASSISTANT_LOG_BACKUPS": "2"})
    rotation = LogRotation.from_settings(settings)
    assert rotation == LogRotation(4000, 2)
    log = tmp_path / "logs" / "chatty.log"
    # 200 lines of 100 bytes: 20 000 bytes through a 4 000-byte log.
    chatty = "import sys\nfor n in range(200):\n    print(f'{n:05d} ' + 'x' * 93, flush=True)"
    process = ManagedProcess("chatty", [sys.executable, "-c", chatty], log, rotation=rotation).start()
    assert process.process is not None and process.process.wait(30) == 0
    text = process.log_text()  # the last lines are copied in before it is read

    files = sorted(log.parent.iterdir())
    assert [path.name for path in files] == ["chatty.log", "chatty.log.1", "chatty.log.2"]
    assert all(path.stat().st_size <= 4000 for path in files)
    assert text.splitlines()[-1].startswith("00199 ")
    kept = [line[:5] for line in "".join(path.read_text() for path in reversed(files)).splitlines()]
    # The newest lines, none lost between the files, in order (three files of about 4 000 bytes); older ones went.
    assert len(kept) >= 80 and kept == [f"{n:05d}" for n in range(200 - len(kept), 200)]


def _status(data_dir: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    ports = {f"ASSISTANT_{name}_PORT": str(free_port()) for name in ("BACKEND", "ACTIONS", "RASA", "CONSOLE")}
    env = {"ASSISTANT_DATA_DIR": str(data_dir), **ports, **settings}
    return run_assistant("status", env=env)


def test_status_with_nothing_running_says_what_needs_a_person(tmp_path: Path) -> None:
    done = _status(tmp_path / "data")
    assert done.returncode == 1
    for service in ("scheduling backend", "action server", "conversation server (Rasa)", "supervisor console"):
        assert f"The {service} is not answering" in done.stdout
    assert "No backup has been made" in done.stdout and "Run `assistant backup` now" in done.stdout
    assert "Free for the data dir".lower() in done.stdout.lower()
    assert "unknown" in done.stdout  # no database yet: figures it cannot read are not zeros


async def _queue_old_record(data_dir: Path) -> None:
    outbox = Outbox(open_engine(data_dir))
    await outbox.enqueue("encounter", "key-status-1", "W001", {"patient_ref": "7788", "complaint": "fever"})
    with open_engine(data_dir).begin() as connection:  # queued two hours ago, and still not at the hub
        connection.exec_driver_sql("UPDATE outbox SET created_at = datetime('now', '-2 hours')")


async def _dead_letter(url: str) -> None:
    state = ChannelState(url, identity_key="status-test-key")
    try:
        body = {"messaging_product": "whatsapp", "to": "+919800000002", "type": "text", "text": {"body": "hi"}}
        reply = OutgoingReply(
            "whatsapp", {"business_number_id": "1"}, body, state.identity_hash("+919800000002"), "W002"
        )
        await state.keep_dead_letter(reply, attempts=12, error="graph_131047", now=dt.datetime.now(dt.timezone.utc))
    finally:
        await state.close()


def test_status_counts_the_queues_and_names_dead_letters_old_backups_and_a_stuck_outbox(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    asyncio.run(_queue_old_record(data_dir))
    asyncio.run(_dead_letter(f"sqlite:///{data_dir / 'channels.db'}"))
    backups = data_dir / "backups"
    backups.mkdir()
    # The age is read from the archive's name (the time the backup began), as a copy keeps it.
    (backups / archive_name(now_utc() - dt.timedelta(days=3))).write_bytes(b"archive")

    done = _status(data_dir, ASSISTANT_STATUS_MIN_FREE_MB=str(10**9))  # more disk than any machine has
    assert done.returncode == 1
    assert "outbox records waiting for the hub       1" in done.stdout
    assert "dead letters (WhatsApp/Twilio)           1" in done.stdout
    assert "1 WhatsApp/Twilio replies could not be delivered" in done.stdout
    assert "The last backup is 3.0 days old" in done.stdout
    assert "records have waited 120 minutes to reach the hub, and the outbox is growing" in done.stdout
    assert "of disk is free for" in done.stdout
    for identifier in ("W001", "W002", "7788", "+919800000002"):
        assert identifier not in done.stdout

    (backups / archive_name(now_utc() - dt.timedelta(hours=1))).write_bytes(b"archive")
    assert "backup" not in _status(data_dir).stdout.split("Needs a person:")[1].lower()
