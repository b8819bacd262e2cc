"""The console on PostgreSQL, the scale-out set-up: tracker store and backend both on a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.console.conftest import World, build_world, console_over
from tests.console.test_review import listed, signed_in
from tests.support.console import RunningConsole, assistant_cli
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_world(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path
) -> Iterator[tuple[World, RunningConsole]]:
    world = build_world(
        tmp_path_factory.mktemp("console-pg"),
        postgres.create_database("console_backend"),
        postgres.create_database("console_tracker"),
    )
    with console_over(world, artifacts_dir) as running:
        yield running


def test_filters_transcripts_and_retention_on_postgresql(pg_world: tuple[World, RunningConsole]) -> None:
    world, console = pg_world
    ids = world.conversations
    client = signed_in(console, "A001")
    assert listed(client, "?channel=voice") == {ids["encounter_voice"]}
    assert listed(client, "?intent=request_consult&consult=1") == {ids["consult_whatsapp"]}
    assert listed(client, "?fallback=1") == {ids["fallback_web"], ids["encounter_voice"]}
    assert listed(client, "?encounter=1&worker=W001") == {ids["encounter_voice"]}
    block = signed_in(console, "S002")
    assert ids["consult_whatsapp"] not in listed(block)
    assert block.get(f"/conversations/{ids['consult_whatsapp']}").status_code == 404
    page = client.get(f"/conversations/{ids['encounter_voice']}").text
    assert "log encounter patient 7788 bukhar hai" in page and "ASR 48%" in page
    dashboard = client.get("/dashboard?days=7")
    assert dashboard.status_code == 200 and "<rect" in dashboard.text

    assistant_cli("console", "purge", "--days", "30", "--db", world.db_url, "--tracker-db", world.tracker_url)
    assert client.get(f"/conversations/{ids['old_w001']}").status_code == 404
    assert client.get(f"/conversations/{ids['encounter_voice']}").status_code == 200
