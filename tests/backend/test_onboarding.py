"""A real programme sets up its own district: `assistant init`, then facilities, people and roster from CSV.

Every command is the real `assistant` command (in-process), on a real SQLite
data dir; the admin signs in to the real console app, and the imported
workers' PINs to the real backend app.
"""

from __future__ import annotations

import logging
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from subprocess import CompletedProcess

import pytest
import requests
from sqlalchemy import create_engine, text

from assistant.core.commands import operating_system_user
from assistant.core.config import Settings
from assistant.core.rules import IMPORT_MAX_BYTES, IMPORT_MAX_ROWS
from assistant.stack.commands import login_lines
from assistant.stack.console_service import console_service
from tests.support.backend import serve_backend
from tests.support.console import ConsoleServer
from tests.support.processes import run_assistant

FACILITIES = """id,name,kind,parent_id,hub_id,district
aiims-jodhpur,AIIMS Jodhpur,hub,,,Jodhpur
rnt-udaipur,RNT Medical College Udaipur,hub,,,Udaipur
dh-sirohi,District Hospital Sirohi,district_hospital,,aiims-jodhpur,Sirohi
chc-pindwara,CHC Pindwara,chc,dh-sirohi,,
hwc-ajari,HWC Ajari,hwc,chc-pindwara,,
dh-rajsamand,District Hospital Rajsamand,district_hospital,,rnt-udaipur,Rajsamand
sc-kelwa,Sub-centre Kelwa,sub_centre,dh-rajsamand,,
"""
PEOPLE = """id,name,role,facility_id,phone,language
r101,Sunita Devi,worker,hwc-ajari,+91 98000 11101,hi
R102,Kamla <b>Meena</b>,worker,sc-kelwa,,
R103,Geeta Rawal,worker,hwc-ajari,,en
R201,Dr. Vikram Singh,supervisor,dh-sirohi,,
"""
PIN_ROW = re.compile(r'<tr><td>([^<]*)</td><td>([^<]*)</td><td class="pin">(\d+)</td></tr>')


def assistant(data_dir: Path, *args: str) -> CompletedProcess[str]:
    """The real command on the data dir's own database (its code and output are the test's to judge)."""
    return run_assistant(*args, env={"ASSISTANT_DATA_DIR": str(data_dir), "ASSISTANT_DB_URL": ""})


def ok(data_dir: Path, *args: str) -> str:
    done = assistant(data_dir, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def problems(done: CompletedProcess[str]) -> list[str]:
    assert done.returncode == 2 and "nothing was imported" in done.stderr, (done.stdout, done.stderr)
    return [line for line in done.stderr.splitlines() if line.startswith("line ")]


def query(data_dir: Path, sql: str, **params: object) -> list[tuple[object, ...]]:
    engine = create_engine(f"sqlite:///{data_dir / 'backend.db'}", future=True)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]
    finally:
        engine.dispose()


def csv_file(data_dir: Path, name: str, body: str) -> Path:
    path = data_dir.parent / name
    path.write_text(body, encoding="utf-8")
    return path


def init(data_dir: Path) -> str:
    out = ok(
        data_dir,
        "init",
        "--admin-id",
        "a001",
        "--admin-name",
        "Rekha Admin",
        "--hub-id",
        "aiims-jodhpur",
        "--hub-name",
        "AIIMS Jodhpur",
        "--hub-district",
        "Jodhpur",
    )
    [password] = re.findall(r"^  (\S+)$", out, re.MULTILINE)
    return password


@pytest.fixture
def programme(tmp_path: Path) -> Iterator[Path]:
    """A data dir made by `assistant init`, with the two hubs' facilities imported."""
    data_dir = tmp_path / "data"
    init(data_dir)
    ok(data_dir, "facilities", "import", str(csv_file(data_dir, "facilities.csv", FACILITIES)))
    yield data_dir


def rows_of(data_dir: Path) -> dict[str, object]:
    tables = ("facilities", "workers", "specialists", "availability", "slots", "worker_pins")
    return {table: query(data_dir, f"SELECT * FROM {table} ORDER BY 1") for table in tables}


# --- assistant init, and assistant up on what it made ----------------------------------


def test_init_makes_a_programme_without_the_demo_whose_admin_signs_in(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    password = init(data_dir)

    assert query(data_dir, "SELECT id, role, facility_id FROM workers") == [("A001", "admin", "aiims-jodhpur")]
    assert query(data_dir, "SELECT id, kind, district, served_by FROM facilities") == [
        ("aiims-jodhpur", "hub", "Jodhpur", "aiims-jodhpur")
    ]
    assert query(data_dir, "SELECT COUNT(*) FROM specialists") == [(0,)]
    assert query(data_dir, "SELECT COUNT(*) FROM checklists")[0][0] > 0  # every programme reads checklists
    assert query(data_dir, "SELECT initialised_by, first_admin FROM programme") == [(operating_system_user(), "A001")]
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700

    settings = Settings(data_dir=data_dir)
    console = ConsoleServer(settings, f"sqlite:///{data_dir / 'backend.db'}", f"sqlite:///{tmp_path / 't.db'}")
    console.start()
    try:
        from tests.support.console import ConsoleClient

        client = ConsoleClient(console.url)
        assert client.login("A001", "not the password").status_code == 401
        signed_in = client.login("A001", password)
        assert signed_in.status_code == 303, signed_in.text
        assert client.get("/people").status_code == 200  # an admin's page
    finally:
        console.stop()

    again = assistant(data_dir, "init", "--admin-id", "A002", "--admin-name", "B", "--hub-id", "x", "--hub-name", "X")
    assert again.returncode == 2  # --hub-district is missing: argparse says so
    refused = assistant(
        data_dir, "init", "--admin-id", "A002", "--admin-name", "B", "--hub-id", "x", "--hub-name", "X",
        "--hub-district", "Y",
    )  # fmt: skip
    assert refused.returncode == 2 and "holds data already (1 facilities, 1 people)" in refused.stderr
    assert query(data_dir, "SELECT id FROM workers") == [("A001",)]


def test_a_real_programme_never_gets_the_demo(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    init(data_dir)
    before = rows_of(data_dir)

    seeded = assistant(data_dir, "seed")
    assert seeded.returncode == 2 and "the demo's fictional people are never loaded into it" in seeded.stderr
    refused = assistant(data_dir, "up", "--demo")  # refused before any port is looked at or model trained
    assert refused.returncode == 2 and "holds a real programme" in refused.stderr

    # What `assistant up`'s backend does before it listens (prepare_database): no demo in a real programme.
    backend = serve_backend(f"sqlite:///{data_dir / 'backend.db'}")
    backend.stop()
    assert rows_of(data_dir) == before
    assert query(data_dir, "SELECT COUNT(*) FROM workers WHERE id IN ('W001', 'S001', 'H001')") == [(0,)]

    # `up` on it prints no demo logins and gives the console none.
    settings = Settings(data_dir=data_dir)
    said = " ".join(login_lines(settings, demo=False))
    assert "S001" not in said and "H001" not in said and not (data_dir / "secrets").exists()  # no demo password made
    assert "S001 / " in " ".join(login_lines(Settings(data_dir=data_dir.parent / "demo"), demo=True))
    assert "--demo-login" not in console_service(settings, {}, demo=False).command
    assert "--demo-login" in console_service(settings, {}, demo=True).command


def test_a_data_dir_never_initialised_still_shows_the_demo(tmp_path: Path) -> None:
    from assistant.stack.programme_setup import shows_demo

    settings = Settings(data_dir=tmp_path / "data", db_url=f"sqlite:///{tmp_path / 'data' / 'backend.db'}")
    (tmp_path / "data").mkdir()
    assert shows_demo(settings, demo_asked=False) and shows_demo(settings, demo_asked=True)


# --- assistant facilities import ----------------------------------------------------


def test_facilities_of_two_hubs_each_served_by_their_own(programme: Path) -> None:
    served = dict(query(programme, "SELECT id, served_by FROM facilities"))
    assert served == {
        "aiims-jodhpur": "aiims-jodhpur",
        "dh-sirohi": "aiims-jodhpur",
        "chc-pindwara": "aiims-jodhpur",
        "hwc-ajari": "aiims-jodhpur",
        "rnt-udaipur": "rnt-udaipur",
        "dh-rajsamand": "rnt-udaipur",
        "sc-kelwa": "rnt-udaipur",
    }
    assert query(programme, "SELECT district FROM facilities WHERE id = 'hwc-ajari'") == [("Sirohi",)]  # inherited

    path = csv_file(programme, "facilities.csv", FACILITIES)
    before = rows_of(programme)
    assert ok(programme, "facilities", "import", str(path)).splitlines() == ["0 added, 0 changed, 7 unchanged"]
    assert rows_of(programme) == before

    listed = ok(programme, "facilities", "list")
    assert re.search(
        r"^sc-kelwa\s+sub_centre\s+rnt-udaipur\s+dh-rajsamand\s+Rajsamand\s+Sub-centre Kelwa$", listed, re.M
    )


def test_a_changed_row_updates_the_facility_and_is_audited(programme: Path) -> None:
    # Pindwara's CHC moves to the Udaipur hub, and is renamed.
    moved = FACILITIES.replace(
        "chc-pindwara,CHC Pindwara,chc,dh-sirohi,,", "chc-pindwara,CHC Pindwara (new),chc,dh-sirohi,rnt-udaipur,"
    )
    path = csv_file(programme, "facilities.csv", moved)
    dry = ok(programme, "facilities", "import", "--dry-run", str(path))
    assert "dry run: nothing was saved" in dry
    assert query(programme, "SELECT name, served_by FROM facilities WHERE id = 'chc-pindwara'") == [
        ("CHC Pindwara", "aiims-jodhpur")
    ]

    done = ok(programme, "facilities", "import", str(path))
    assert (
        "changed chc-pindwara: name CHC Pindwara -> CHC Pindwara (new); changed chc-pindwara: hub_id - -> rnt-udaipur"
        in done
    )
    assert done.splitlines()[-1] == "0 added, 1 changed, 6 unchanged"
    assert dict(query(programme, "SELECT id, served_by FROM facilities WHERE id IN ('chc-pindwara', 'hwc-ajari')")) == {
        "chc-pindwara": "rnt-udaipur",
        "hwc-ajari": "rnt-udaipur",  # under it
    }
    audited = query(
        programme, "SELECT actor, role, action, target FROM console_audit WHERE action = 'facility_changed' ORDER BY id"
    )
    assert audited == [
        (
            operating_system_user(),
            "cli",
            "facility_changed",
            "facility chc-pindwara: name CHC Pindwara -> CHC Pindwara (new)",
        ),
        (operating_system_user(), "cli", "facility_changed", "facility chc-pindwara: hub_id - -> rnt-udaipur"),
    ]


def test_every_problem_of_a_facilities_file_is_named_by_line_and_column(programme: Path) -> None:
    body = (
        "id,kind,name,parent_id,hub_id\n"  # any column order; no district column
        "phc-a,clinic,PHC A,dh-sirohi,\n"  # 2: unknown kind
        "hub-b,hub,Hub B,,aiims-jodhpur\n"  # 3: a hub naming a hub
        "phc-c,phc,PHC C,phc-nowhere,\n"  # 4: unknown parent
        "phc-d,phc,PHC D,phc-e,\n"  # 5: a loop, d -> e -> d
        "phc-e,phc,PHC E,phc-d,\n"  # 6
        "phc-f,phc,PHC F,dh-sirohi,hwc-ajari\n"  # 7: hub_id names no hub
        "phc-c,phc,PHC C again,dh-sirohi,\n"  # 8: the same id twice
    )
    before = rows_of(programme)
    found = problems(assistant(programme, "facilities", "import", str(csv_file(programme, "bad.csv", body))))
    assert found == [
        "line 2, column kind: unknown kind 'clinic'; one of: hub, district_hospital, chc, phc, sub_centre, hwc.",
        "line 3, column hub_id: hub-b is a hub: a hub serves itself and names no hub_id.",
        "line 8, column id: phc-c is on line 4 already.",
    ]
    # With those fixed, the problems only the whole tree shows.
    body = body.replace(",clinic,", ",phc,").replace("hub-b,hub,Hub B,,aiims-jodhpur", "hub-b,hub,Hub B,,")
    body = body.replace("phc-c,phc,PHC C again,dh-sirohi,\n", "")
    found = problems(assistant(programme, "facilities", "import", str(csv_file(programme, "bad.csv", body))))
    assert found == [
        "line 4, column parent_id: no facility 'phc-nowhere', in this file or already imported.",
        "line 5, column parent_id: the parents go round in a loop: phc-d -> phc-e -> phc-d.",
        "line 6, column parent_id: the parents go round in a loop: phc-e -> phc-d -> phc-e.",
        "line 7, column hub_id: hwc-ajari is a hwc, not a hub.",
    ]
    # A facility no hub serves, and one with no district to take.
    body = "id,name,kind,parent_id,hub_id\nphc-g,PHC G,phc,,\nhub-c,Hub C,hub,,\n"
    found = problems(assistant(programme, "facilities", "import", str(csv_file(programme, "bad.csv", body))))
    assert found == [
        "line 2, column hub_id: no hub serves phc-g: name a hub in hub_id, or a parent that a hub serves.",
        "line 2, column district: district is empty, and no parent has one to take.",
        "line 3, column district: district is empty, and no parent has one to take.",
    ]
    assert rows_of(programme) == before


def test_a_file_too_large_or_too_long_is_refused_whole(programme: Path) -> None:
    header = "id,name,kind,parent_id,hub_id\n"
    long_file = header + "".join(f"sc-{n},SC {n},sub_centre,dh-sirohi,\n" for n in range(IMPORT_MAX_ROWS + 1))
    found = problems(assistant(programme, "facilities", "import", str(csv_file(programme, "long.csv", long_file))))
    assert found == [
        f"line {IMPORT_MAX_ROWS + 2}, column -: the file has more than 20,000 rows, the most one import takes; "
        "split it."
    ]

    big = csv_file(programme, "big.csv", header + "x" * IMPORT_MAX_BYTES)
    for command in (("facilities", "import"), ("workers", "import"), ("roster", "import")):
        found = problems(assistant(programme, *command, str(big)))
        assert found == ["line 1, column -: the file is larger than 5 MB, the most one import reads."]
    long_roster = "upn,name,specialty,facility,day,start,end\n" + "a@b.in,Dr. A,ent,aiims-jodhpur,mon,09:00,10:00\n" * (
        IMPORT_MAX_ROWS + 1
    )
    found = problems(assistant(programme, "roster", "import", str(csv_file(programme, "r.csv", long_roster))))
    assert found[-1].endswith("the most one import takes; split it.")


# --- assistant workers import ---------------------------------------------------------


def test_people_are_added_then_updated_and_never_silently_deactivated(programme: Path) -> None:
    path = csv_file(programme, "people.csv", PEOPLE)
    done = ok(programme, "workers", "import", str(path))
    assert done.splitlines()[-1] == "4 added, 0 changed, 0 unchanged"
    assert query(
        programme, "SELECT id, role, facility_id, phone, language, active FROM workers WHERE id LIKE 'R%' ORDER BY id"
    ) == [
        ("R101", "worker", "hwc-ajari", "+919800011101", "hi", 1),
        ("R102", "worker", "sc-kelwa", None, None, 1),
        ("R103", "worker", "hwc-ajari", None, "en", 1),
        ("R201", "supervisor", "dh-sirohi", None, None, 1),
    ]
    assert ok(programme, "workers", "import", str(path)).splitlines() == ["0 added, 0 changed, 4 unchanged"]

    # R103 leaves the file, R101 gets a new number; without --deactivate-missing nobody is deactivated.
    changed = PEOPLE.replace("+91 98000 11101", "+919800011199").replace("R103,Geeta Rawal,worker,hwc-ajari,,en\n", "")
    path = csv_file(programme, "people.csv", changed)
    done = ok(programme, "workers", "import", str(path))
    assert done.splitlines() == ["changed R101: phone …1101 -> …1199", "0 added, 1 changed, 2 unchanged"]
    assert query(programme, "SELECT COUNT(*) FROM workers WHERE active = 0") == [(0,)]
    assert query(programme, "SELECT target FROM console_audit WHERE action = 'worker_changed'") == [
        ("person R101: phone …1101 -> …1199",)
    ]

    # With it: only people of the file's facilities, and never the admin (at the hub, which the file does not name).
    done = ok(programme, "workers", "import", "--deactivate-missing", str(path))
    assert done.splitlines() == [
        "deactivated R103 (worker Geeta Rawal, hwc-ajari)",
        "0 added, 0 changed, 3 unchanged, 1 deactivated",
    ]
    assert query(programme, "SELECT id FROM workers WHERE active = 0") == [("R103",)]
    assert query(programme, "SELECT target FROM console_audit WHERE action = 'worker_deactivated'") == [
        ("person R103: not in the imported file",)
    ]


def test_every_problem_of_a_people_file_is_named_by_line_and_column(programme: Path) -> None:
    ok(programme, "workers", "import", str(csv_file(programme, "people.csv", PEOPLE)))
    before = rows_of(programme)
    body = (
        "id,name,role,facility_id,phone,language\n"
        "R301,Asha One,nurse,hwc-ajari,,\n"  # 2: unknown role
        "R302,Asha Two,worker,hwc-nowhere,,\n"  # 3: unknown facility
        "R303,Asha Three,worker,hwc-ajari,98-call-me,\n"  # 4: not a phone number
        "R304,Asha Four,worker,hwc-ajari,+919800011101,\n"  # 5: R101's number
        "R305,Asha Five,worker,hwc-ajari,+919800055555,fr\n"  # 6: unknown language
        "R306,Asha Six,worker,hwc-ajari,+91 98000 55555,\n"  # 7: the number of line 6
        "R302,Asha Two,worker,hwc-ajari,,\n"  # 8: the same id twice
    )
    found = problems(assistant(programme, "workers", "import", str(csv_file(programme, "bad.csv", body))))
    assert found == [
        "line 2, column role: unknown role 'nurse'; one of: worker, supervisor, coordinator, specialist, admin.",
        "line 4, column phone: give the number in international form, e.g. +919812345678.",
        "line 6, column language: unknown language 'fr'; one of: en, hi.",
        "line 8, column id: R302 is on line 3 already.",
    ]
    body = body.replace(",nurse,", ",worker,").replace("98-call-me", "").replace(",fr\n", ",hi\n")
    body = body.replace("R306,Asha Six,worker,hwc-ajari,+91 98000 55555,\n", "").replace(
        "R302,Asha Two,worker,hwc-ajari,,\n", ""
    )
    found = problems(assistant(programme, "workers", "import", str(csv_file(programme, "bad.csv", body))))
    assert found == [
        "line 3, column facility_id: no facility 'hwc-nowhere'.",
        "line 5, column phone: this phone number is registered to R101 already.",
    ]
    assert rows_of(programme) == before


def test_new_workers_pins_go_to_a_private_sheet_only_and_sign_in(
    programme: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ok(
        programme,
        "workers",
        "import",
        str(csv_file(programme, "first.csv", PEOPLE.replace("R102", "X1").replace("R201", "X2"))),
    )
    sheet = programme.parent / "pins.html"
    caplog.set_level(logging.DEBUG)
    done = assistant(
        programme, "workers", "import", "--pins", str(sheet), str(csv_file(programme, "people.csv", PEOPLE))
    )
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.splitlines()[-1]
        == f"2 web-chat PINs written to {sheet} (0600): print it, hand them out, then delete it"
    )
    assert stat.S_IMODE(sheet.stat().st_mode) == 0o600

    page = sheet.read_text(encoding="utf-8")
    lines = PIN_ROW.findall(page)
    assert [(name, worker_id) for name, worker_id, _ in lines] == [
        ("Dr. Vikram Singh", "R201"),  # District Hospital Sirohi
        ("Kamla &lt;b&gt;Meena&lt;/b&gt;", "R102"),  # District Hospital Rajsamand's Sub-centre Kelwa
    ]
    assert page.index("District Hospital Sirohi (dh-sirohi)") < page.index("Sub-centre Kelwa (sc-kelwa)")
    pins = {worker_id: pin for _, worker_id, pin in lines}
    shown = done.stdout + done.stderr + caplog.text
    assert all(pin not in shown for pin in pins.values())

    backend = serve_backend(f"sqlite:///{programme / 'backend.db'}")
    try:
        for worker_id, pin in pins.items():
            answer = requests.post(
                f"{backend.url}/auth/pin",
                json={"worker_id": worker_id, "pin": pin},
                headers=backend.headers("service", None),
            )
            assert answer.status_code == 200, answer.text
        assert query(programme, "SELECT COUNT(*) FROM worker_pins") == [(2,)]  # the workers already there got none
    finally:
        backend.stop()

    refused = assistant(
        programme, "workers", "import", "--pins", str(sheet), str(csv_file(programme, "people.csv", PEOPLE))
    )
    assert refused.returncode == 2 and "exists already" in refused.stderr
    assert PIN_ROW.findall(sheet.read_text(encoding="utf-8")) == lines  # never overwritten


def test_a_failed_import_issues_no_pins_and_leaves_no_sheet(programme: Path) -> None:
    sheet = programme.parent / "pins.html"
    body = PEOPLE + "R999,Nobody,worker,hwc-nowhere,,\n"
    problems(assistant(programme, "workers", "import", "--pins", str(sheet), str(csv_file(programme, "p.csv", body))))
    assert not sheet.exists()
    assert query(programme, "SELECT COUNT(*) FROM worker_pins") == [(0,)]


def test_a_specialists_roster_facility_decides_their_hub(programme: Path) -> None:
    roster = (
        "upn,name,specialty,facility,day,start,end,slot_minutes,login\n"
        "neha.jain@rnt-udaipur.example,Dr. Neha Jain,pediatrics,rnt-udaipur,tue,09:00,10:00,30,H501\n"
        "amit.rao@aiims-jodhpur.example,Dr. Amit Rao,pediatrics,aiims-jodhpur,tue,09:00,10:00,30,H502\n"
    )
    ok(programme, "roster", "import", str(csv_file(programme, "roster.csv", roster)))
    assert query(
        programme,
        "SELECT s.upn, f.served_by FROM specialists s JOIN facilities f ON f.id = s.facility_id ORDER BY s.upn",
    ) == [("amit.rao@aiims-jodhpur.example", "aiims-jodhpur"), ("neha.jain@rnt-udaipur.example", "rnt-udaipur")]
    # Their logins are the roster's: a people file naming their hub never deactivates them.
    hub_people = "id,name,role,facility_id\nR601,Udaipur desk,coordinator,rnt-udaipur\n"
    done = ok(programme, "workers", "import", "--deactivate-missing", str(csv_file(programme, "hub.csv", hub_people)))
    assert "deactivated" not in done
    assert query(programme, "SELECT COUNT(*) FROM workers WHERE active = 0") == [(0,)]
