"""The console's pages and exports over HTTP, on transcripts in Rasa's own format."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
from pathlib import Path

import yaml
from sqlalchemy import text

from tests.console.conftest import PASSWORD, World
from tests.support.console import ConsoleClient, RunningConsole, assistant_cli
from tests.support.conversations import Said, conversation_events, event_rows, write_rows


def signed_in(console: RunningConsole, user: str = "S001") -> ConsoleClient:
    client = console.client()
    assert client.login(user, PASSWORD).status_code == 303
    return client


def listed(client: ConsoleClient, query: str = "") -> set[int]:
    response = client.get(f"/conversations{query}")
    assert response.status_code == 200, response.text
    return {int(found) for found in re.findall(r'data-conversation="(\d+)"', response.text)}


def test_transcript_shows_turns_understanding_and_saved_record(console_world: tuple[World, RunningConsole]) -> None:
    world, console = console_world
    page = signed_in(console).get(f"/conversations/{world.conversations['encounter_voice']}").text
    assert "log encounter patient 7788 bukhar hai" in page  # the worker's words
    assert "ASR 48%" in page and "ASR 90%" in page  # voice turns carry ASR confidence
    assert "<b>log_encounter</b>" in page and "91%" in page  # intent and its confidence
    assert "patient_id = <b>7788</b>" in page  # entities
    assert "age = 34" in page  # slot changes
    assert "encounter_form" in page and "action_save_encounter" in page  # actions
    assert "Encounter saved." in page  # bot replies
    assert f'href="/encounters/{world.encounters["encounter_voice"]}"' in page  # link to the saved record
    # Untrusted text is escaped, never run.
    fallback = signed_in(console).get(f"/conversations/{world.conversations['fallback_web']}").text
    assert "<script>alert(1)</script>" not in fallback and "&lt;script&gt;" in fallback


def test_filters_select_the_right_conversations(console_world: tuple[World, RunningConsole]) -> None:
    world, console = console_world
    ids = world.conversations
    client = signed_in(console, "A001")
    recent = {ids["encounter_voice"], ids["consult_whatsapp"], ids["fallback_web"]}
    assert listed(client) >= recent
    assert listed(client, "?worker=W001") >= {ids["encounter_voice"], ids["old_w001"]}
    assert ids["consult_whatsapp"] not in listed(client, "?worker=W001")
    assert listed(client, "?facility=chc-abu-road") == {ids["consult_whatsapp"]}
    assert listed(client, "?channel=voice") == {ids["encounter_voice"]}
    assert listed(client, "?channel=whatsapp") == {ids["consult_whatsapp"]}
    assert listed(client, "?intent=request_consult") == {ids["consult_whatsapp"]}
    assert listed(client, "?fallback=1") == {
        ids["fallback_web"],
        ids["encounter_voice"],
    }  # NLU fallback; low ASR confidence
    assert listed(client, "?encounter=1") == {ids["encounter_voice"]}
    assert listed(client, "?consult=1") == {ids["consult_whatsapp"]}
    today = dt.date.today()
    last_week = f"?date_from={today - dt.timedelta(days=7)}&date_to={today + dt.timedelta(days=1)}"
    assert ids["old_w001"] not in listed(client, last_week) and listed(client, last_week) >= recent
    assert listed(client, f"{last_week}&channel=voice&fallback=1&encounter=1&worker=W001") == {ids["encounter_voice"]}


def test_bad_filters_get_a_clear_answer(console_world: tuple[World, RunningConsole]) -> None:
    _, console = console_world
    client = signed_in(console)
    for query, message in (
        ("?date_from=2024-13-01", "is not a date"),
        ("?channel=fax", "channel must be one of"),
        ("?date_from=2024-05-02&date_to=2024-05-01", "ends before it starts"),
        ("?older=banana", "not a page position"),
        ("?intent=%3Cscript%3E", "not a valid id"),
    ):
        response = client.get(f"/conversations{query}", headers={"Accept": "text/html"})
        assert response.status_code == 400 and message in response.text, query
    assert client.get("/conversations/abc").status_code == 404
    assert client.get("/conversations/99999999").status_code == 404


def test_pages_walk_the_whole_history_once(console_world: tuple[World, RunningConsole]) -> None:
    world, console = console_world
    with world.backend.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO workers (id, name, facility_id, role, active) VALUES ('W900', 'Paging Worker', "
                "'hwc-ajari', 'worker', true)"
            )
        )
    start = time.time() - 30 * 24 * 3600
    rows = []
    for number in range(120):
        rows += event_rows(
            "W900", conversation_events([Said(f"next {number}", "next_step", channel="web")], start + number * 600)
        )
    write_rows(world.tracker, rows)
    client = signed_in(console)
    seen: list[int] = []
    path = "/conversations?worker=W900"
    pages = 0
    while path:
        page = client.get(path).text
        found = [int(value) for value in re.findall(r'data-conversation="(\d+)"', page)]
        assert len(found) <= 50
        seen += found
        pages += 1
        older = re.search(r'id="older" href="([^"]+)"', page)
        path = older.group(1).replace("&amp;", "&") if older else ""
    assert pages == 3 and len(seen) == len(set(seen)) == 120
    newer = re.search(r'id="newer" href="([^"]+)"', page)
    assert newer and "newer=" in newer.group(1)


def test_exports_json_csv_and_fhir(console_world: tuple[World, RunningConsole]) -> None:
    world, console = console_world
    client = signed_in(console, "S002")
    voice = world.conversations["encounter_voice"]
    exported = client.get(f"/conversations/{voice}/export.json")
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    body = exported.json()
    turns = [turn for turn in body["turns"] if turn["text"]]
    assert [turn["intent"] for turn in turns] == ["log_encounter", "inform", "affirm"]
    assert turns[0]["asr_confidence"] == 0.48 and turns[0]["entities"][0]["entity"] == "patient_id"
    assert body["encounters"][0]["id"] == world.encounters["encounter_voice"]
    assert body["conversation"]["worker"]["id"] == "W001"

    table = list(csv.DictReader(io.StringIO(client.get(f"/conversations/{voice}/export.csv").text)))
    assert [row["user_text"] for row in table if row["user_text"]][0] == "log encounter patient 7788 bukhar hai"
    admin = signed_in(console, "A001")
    injected = list(
        csv.DictReader(
            io.StringIO(admin.get(f"/conversations/{world.conversations['consult_whatsapp']}/export.csv").text)
        )
    )
    assert any(row["user_text"].startswith("'=HYPERLINK") for row in injected)  # no formula runs in a spreadsheet

    bundle = client.get(f"/encounters/{world.encounters['encounter_voice']}/fhir")
    assert bundle.headers["Content-Type"].startswith("application/fhir+json")
    resources = [entry["resource"] for entry in bundle.json()["entry"]]
    assert resources[0]["resourceType"] == "Encounter"
    codes = {coding["code"] for item in resources[1:] for coding in item["code"]["coding"]}
    assert {"85354-9", "8310-5", "8867-4"} <= codes


def test_flag_review_and_export_nlu_training_data(console_world: tuple[World, RunningConsole]) -> None:
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    world, console = console_world
    client = signed_in(console, "S002")
    conversation = world.conversations["encounter_voice"]
    page = client.get(f"/conversations/{conversation}").text
    second_turn = re.findall(r'name="event_id" value="(\d+)"', page)[1]
    flagged = client.post(
        f"/conversations/{conversation}/flags",
        {
            "event_id": second_turn,
            "reason": "wrong_entity",
            "expected_intent": "inform",
            "example": "[chautees](age) saal",
            "comment": "age in Hindi words",
        },
    )
    assert flagged.status_code == 303
    bad = client.post(
        f"/conversations/{conversation}/flags",
        {"event_id": second_turn, "reason": "because"},
        headers={"Accept": "text/html"},
    )
    assert bad.status_code == 400 and "reason must be one of" in bad.text
    assert client.post(f"/conversations/{conversation}/review", {"reviewed": "1"}).status_code == 303
    page = client.get(f"/conversations/{conversation}").text
    assert "Wrong entity" in page and "age in Hindi words" in page and 'id="reviewed"' in page
    assert '<span class="badge ok">reviewed</span>' in client.get("/conversations?worker=W001").text

    exported = client.get("/flags/nlu.yml")
    assert exported.status_code == 200
    training = RasaYAMLReader().reads(exported.text)
    examples = {(message.get("intent"), message.get("text")) for message in training.intent_examples}
    assert ("inform", "chautees saal") in examples
    assert any(
        entity["entity"] == "age" for message in training.intent_examples for entity in message.get("entities", [])
    )
    assert yaml.safe_load(exported.text)["version"] == "3.1"
    # The flag list shows the turn's words, read live from the tracker store.
    assert "chautees saal" in signed_in(console, "A001").get("/flags").text


def test_every_access_is_audited_and_only_admins_read_the_log(console_world: tuple[World, RunningConsole]) -> None:
    world, console = console_world
    client = signed_in(console, "S002")
    conversation = world.conversations["fallback_web"]
    client.get(f"/conversations/{conversation}")
    client.get(f"/conversations/{conversation}/export.csv")
    client.get(f"/encounters/{world.encounters['encounter_voice']}/fhir")
    with world.backend.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT action, target, address, user_agent FROM console_audit WHERE actor = 'S002' ORDER BY "
                "id DESC LIMIT 4"
            )
        ).all()
    actions = [row.action for row in rows]
    assert actions[:3] == ["export_encounter_fhir", "export_conversation_csv", "view_conversation"]
    assert rows[2].target == f"conversation {conversation}" and rows[2].address == "127.0.0.1" and rows[2].user_agent
    assert all("7788" not in (row.target or "") for row in rows)  # no patient ids in the audit trail

    assert client.get("/audit").status_code == 403
    log = signed_in(console, "A001").get("/audit?actor=S002").text
    assert "export_encounter_fhir" in log and f"conversation {conversation}" in log


def test_dashboard_draws_its_charts_without_outside_resources(console_world: tuple[World, RunningConsole]) -> None:
    _, console = console_world
    response = signed_in(console, "A001").get("/dashboard?days=30")
    page = response.text
    assert response.status_code == 200 and '<svg class="chart" id="chart-conversations"' in page
    assert "<rect" in page and 'id="fallback-rate"' in page
    assert "cardiology" in page and "Sunita Devi" in page  # consults by specialty, encounters per worker
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing from a CDN
    assert (
        "script-src" not in response.headers["Content-Security-Policy"]
        and "default-src 'none'" in response.headers["Content-Security-Policy"]
    )


def test_retention_purges_old_transcripts_and_keeps_the_audit_log(console_world: tuple[World, RunningConsole]) -> None:
    world, console = console_world
    old = world.conversations["old_w001"]
    client = signed_in(console, "A001")
    assert client.get(f"/conversations/{old}").status_code == 200
    with world.backend.connect() as connection:
        audit_before = connection.execute(text("SELECT count(*) FROM console_audit")).scalar_one()

    output = assistant_cli("console", "purge", "--days", "30", "--db", world.db_url, "--tracker-db", world.tracker_url)
    assert "purged" in output and "audit log is kept" in output

    assert client.get(f"/conversations/{old}").status_code == 404
    assert client.get(f"/conversations/{world.conversations['encounter_voice']}").status_code == 200
    with world.tracker.connect() as connection:
        oldest = connection.execute(text("SELECT min(timestamp) FROM events WHERE sender_id = 'W001'")).scalar_one()
    assert oldest > time.time() - 30 * 24 * 3600
    with world.backend.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM console_audit")).scalar_one() >= audit_before
        assert (
            connection.execute(
                text("SELECT count(*) FROM console_audit WHERE target = :t"), {"t": f"conversation {old}"}
            ).scalar_one()
            >= 1
        )


def test_console_started_before_rasa_waits_for_the_tracker_store(tmp_path: Path, artifacts_dir: Path) -> None:
    from tests.support.console import start_console
    from tests.support.conversations import tracker_engine
    from tests.support.in_process import console_password, seeded

    db_url, tracker_url = f"sqlite:///{tmp_path / 'backend.db'}", f"sqlite:///{tmp_path / 'tracker.db'}"
    seeded(db_url)
    console_password(db_url, "A001", PASSWORD)
    console = start_console(db_url, tracker_url, artifacts_dir / "logs")
    try:
        client = signed_in(console, "A001")
        assert listed(client) == set() and "No conversations match." in client.get("/conversations").text
        engine = tracker_engine(tracker_url)  # Rasa starts and creates its table
        write_rows(engine, event_rows("W001", conversation_events([Said("namaste", "greet")], time.time() - 60)))
        assert len(listed(client)) == 1
        engine.dispose()
    finally:
        console.stop()
