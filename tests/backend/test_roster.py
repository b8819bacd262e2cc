"""`assistant roster import` on a real CSV file, in a real data directory: all of it, or nothing."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from tests.support.processes import run_assistant

HEADER = "upn,name,specialty,facility,day,start,end,slot_minutes,login\n"
TABLES = ("specialists", "workers", "availability", "slots")


def assistant(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command, on the data directory's database (its exit code and output are the test's to judge)."""
    return run_assistant(*args, env={"ASSISTANT_DATA_DIR": str(data_dir), "ASSISTANT_DB_URL": ""})


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    seeded = assistant(tmp_path, "seed")
    assert seeded.returncode == 0, seeded.stderr
    return tmp_path


def query(data_dir: Path, sql: str, **params: object) -> list[tuple[object, ...]]:
    engine = create_engine(f"sqlite:///{data_dir / 'backend.db'}", future=True)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]
    finally:
        engine.dispose()


def counts(data_dir: Path) -> dict[str, object]:
    return {table: query(data_dir, f"SELECT COUNT(*) FROM {table}")[0][0] for table in TABLES}


def roster(data_dir: Path, body: str) -> Path:
    path = data_dir / "roster.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def in_three_days() -> str:
    return (dt.datetime.now(ZoneInfo("Asia/Kolkata")).date() + dt.timedelta(days=3)).isoformat()


def test_a_roster_adds_specialists_logins_hours_and_single_slots_once(data_dir: Path) -> None:
    day = in_three_days()
    path = roster(
        data_dir,
        "asha.rao@aiims-jodhpur.example,Dr. Asha Rao,dermatology,aiims-jodhpur,mon,09:00,10:00,20,h401\n"
        "asha.rao@aiims-jodhpur.example,Dr. Asha Rao,dermatology,aiims-jodhpur,Thu,16:00,17:30,,\n"
        f'pooja.bhati@sirohi-dh.example,"Dr. Pooja Bhati-Rathore",general_medicine,dh-sirohi,{day},18:00,19:00,30,\n',
    )
    before = counts(data_dir)
    done = assistant(data_dir, "roster", "import", str(path))
    assert done.returncode == 0, done.stderr
    assert "added specialist Dr. Asha Rao (asha.rao@aiims-jodhpur.example, dermatology, aiims-jodhpur)" in done.stdout
    assert "added login H401 for asha.rao@aiims-jodhpur.example" in done.stdout
    assert "updated specialist pooja.bhati@sirohi-dh.example: name" in done.stdout
    assert "added hours mon 09:00-10:00 for asha.rao@aiims-jodhpur.example (6 slots)" in done.stdout
    assert f"added slots {day} 18:00-19:00 for pooja.bhati@sirohi-dh.example (2 slots)" in done.stdout

    [(asha,)] = query(data_dir, "SELECT id FROM specialists WHERE upn = 'asha.rao@aiims-jodhpur.example'")
    assert query(data_dir, "SELECT role, specialist_id, facility_id, name FROM workers WHERE id = 'H401'") == [
        ("specialist", asha, "aiims-jodhpur", "Dr. Asha Rao")
    ]
    assert query(
        data_dir,
        "SELECT weekday, start_time, end_time, slot_minutes FROM availability WHERE specialist_id = :s "
        "ORDER BY weekday",
        s=asha,
    ) == [(0, "09:00", "10:00", 20), (3, "16:00", "17:30", 30)]
    # Any 14 days hold each weekly time twice: 3 + 3 Monday slots and 3 + 3 Thursday ones.
    assert query(data_dir, "SELECT COUNT(*) FROM slots WHERE specialist_id = :s", s=asha) == [(12,)]
    single = query(
        data_dir,
        "SELECT s.starts_at FROM slots s JOIN specialists p ON p.id = s.specialist_id "
        "WHERE p.upn = 'pooja.bhati@sirohi-dh.example' AND s.availability_id IS NULL ORDER BY s.starts_at",
    )
    assert [str(start)[:16] for (start,) in single] == [f"{day} 12:30", f"{day} 13:00"]  # 18:00, 18:30 in Jodhpur
    assert query(data_dir, "SELECT name FROM specialists WHERE upn = 'pooja.bhati@sirohi-dh.example'") == [
        ("Dr. Pooja Bhati-Rathore",)
    ]
    # The new login can be given a specialist's token for the Hub desk.
    token = assistant(data_dir, "token", "create", "--role", "specialist", "--worker", "H401")
    assert token.returncode == 0, token.stderr

    after = counts(data_dir)
    again = assistant(data_dir, "roster", "import", str(path))
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines() == ["0 changes, 0 slots; 3 rows already in place"]
    assert counts(data_dir) == after != before


def test_a_dry_run_says_what_it_would_add_and_saves_nothing(data_dir: Path) -> None:
    path = roster(data_dir, "new.one@aiims-jodhpur.example,Dr. New One,ent,aiims-jodhpur,sun,08:00,09:00,30,H301\n")
    before = counts(data_dir)
    done = assistant(data_dir, "roster", "import", "--dry-run", str(path))
    assert done.returncode == 0, done.stderr
    assert "dry run: nothing was saved" in done.stdout and "added specialist Dr. New One" in done.stdout
    assert counts(data_dir) == before


def test_a_bad_value_names_its_line_and_column_and_nothing_is_imported(data_dir: Path) -> None:
    path = roster(
        data_dir,
        "good.one@aiims-jodhpur.example,Dr. Good One,ent,aiims-jodhpur,sun,08:00,09:00,30,H301\n"
        "bad.time@aiims-jodhpur.example,Dr. Bad Time,ent,aiims-jodhpur,sun,25:00,26:00,30,\n"
        "bad.day@aiims-jodhpur.example,Dr. Bad Day,ent,aiims-jodhpur,someday,08:00,09:00,30,\n",
    )
    before = counts(data_dir)
    done = assistant(data_dir, "roster", "import", str(path))
    assert done.returncode == 2 and done.stdout == ""
    assert "nothing was imported" in done.stderr
    assert "line 3, column start: start must be a local time HH:MM" in done.stderr
    assert "line 4, column day: day must be one of mon" in done.stderr
    assert counts(data_dir) == before


@pytest.mark.parametrize(
    "upn",
    [
        "dr.rao@aiims-jodhpur.example&users=someone@elsewhere.example",  # would add a second user to the call
        "dr.rao@aiims-jodhpur.example#fragment",
        "dr.rao@aiims-jodhpur.example?tenantId=other",
        "dr.rao",
        "dr.rao@localhost",
        "x" * 65 + "@aiims-jodhpur.example",
    ],
)
def test_a_upn_that_is_no_user_principal_name_is_refused(data_dir: Path, upn: str) -> None:
    path = roster(data_dir, f"{upn},Dr. Rao,ent,aiims-jodhpur,sun,08:00,09:00,30,\n")
    before = counts(data_dir)
    done = assistant(data_dir, "roster", "import", str(path))
    assert done.returncode == 2 and "nothing was imported" in done.stderr
    assert "line 2, column upn: upn " in done.stderr and "like a.b@hospital.in" in done.stderr
    assert counts(data_dir) == before


def test_problems_only_the_database_can_see_roll_back_the_rows_before_them(data_dir: Path) -> None:
    # Line 2 is fine and is applied first; line 3's facility does not exist; line 4 overlaps the demo's
    # Monday 10:00-11:30 of an existing specialist: the whole import is undone.
    path = roster(
        data_dir,
        "good.one@aiims-jodhpur.example,Dr. Good One,ent,aiims-jodhpur,sun,08:00,09:00,30,H301\n"
        "lost.one@nowhere.example,Dr. Lost,ent,phc-nowhere,sun,08:00,09:00,30,\n"
        "ramesh.choudhary@aiims-jodhpur.example,Dr. Ramesh Choudhary,general_medicine,aiims-jodhpur,"
        "mon,11:00,12:00,30,\n",
    )
    before = counts(data_dir)
    done = assistant(data_dir, "roster", "import", str(path))
    assert done.returncode == 2, done.stdout
    assert "line 3, column facility: no facility 'phc-nowhere'" in done.stderr
    assert "line 4, column start: mon 11:00-12:00 overlaps the hours mon 10:00-11:30" in done.stderr
    assert counts(data_dir) == before
    assert query(data_dir, "SELECT COUNT(*) FROM workers WHERE id = 'H301'") == [(0,)]


def test_rows_of_one_specialist_must_agree_and_must_not_overlap(data_dir: Path) -> None:
    path = roster(
        data_dir,
        "twin@aiims-jodhpur.example,Dr. Twin,ent,aiims-jodhpur,tue,08:00,09:00,30,H301\n"
        "twin@aiims-jodhpur.example,Dr. Twin,ent,dh-sirohi,wed,08:00,09:00,30,\n"
        "twin@aiims-jodhpur.example,Dr. Twin,ent,aiims-jodhpur,tue,08:30,10:00,30,\n"
        "other@aiims-jodhpur.example,Dr. Other,ent,aiims-jodhpur,tue,08:00,09:00,30,H301\n",
    )
    done = assistant(data_dir, "roster", "import", str(path))
    assert done.returncode == 2
    problems = [line for line in done.stderr.splitlines() if line.startswith("line ")]
    assert problems == [
        "line 3, column facility: twin@aiims-jodhpur.example has facility 'aiims-jodhpur' on line 2.",
        "line 4, column start: tue 08:30-10:00 overlaps tue 08:00-09:00 on line 2.",
        "line 5, column login: login H301 is twin@aiims-jodhpur.example's on line 2.",
    ]
