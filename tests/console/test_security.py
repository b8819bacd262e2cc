"""Access control of the real console: sessions, CSRF, facility scope, rate limit, refused workers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from requests import Response
from sqlalchemy import text

from tests.console.conftest import PASSWORD, World, build_world, console_over
from tests.support.console import ConsoleClient, RunningConsole, set_console_password

PATIENT_REFS = ("7788", "4521", "9911")


def signed_in(console: RunningConsole, user: str) -> ConsoleClient:
    client = console.client()
    response = client.login(user, PASSWORD)
    assert response.status_code == 303, response.text
    return client


def protected_paths(world: World) -> list[str]:
    voice = world.conversations["encounter_voice"]
    encounter = world.encounters["encounter_voice"]
    return [
        "/conversations",
        f"/conversations/{voice}",
        f"/conversations/{voice}/export.json",
        f"/conversations/{voice}/export.csv",
        f"/encounters/{encounter}",
        f"/encounters/{encounter}/fhir",
        f"/consults/{world.consults['consult_whatsapp']}",
        "/flags",
        "/flags/nlu.yml",
        "/dashboard",
        "/audit",
    ]


def test_nothing_without_a_session(console_world: tuple[World, RunningConsole]) -> None:
    world, console = console_world
    anonymous = console.client()
    for path in protected_paths(world):
        response = anonymous.get(path)
        assert response.status_code == 303, path
        assert response.headers["Location"].startswith("/login"), path
        assert not any(ref in response.text for ref in PATIENT_REFS), path
    forged = anonymous.post(
        f"/conversations/{world.conversations['encounter_voice']}/flags", {"event_id": 1, "reason": "other"}
    )
    assert forged.status_code == 401
    # A made-up session cookie is no session.
    anonymous.cookies["console_session"] = "not-a-real-session"
    assert anonymous.get("/conversations").status_code == 303


def test_session_cookie_is_secure_http_only_and_expires(console_world: tuple[World, RunningConsole]) -> None:
    world, console = console_world
    client = console.client()
    client.get("/login")
    response = client.post("/login", {"username": "S001", "password": PASSWORD})
    cookie = next(value for value in response.raw.headers.getlist("Set-Cookie") if value.startswith("console_session="))
    attributes = {part.strip().split("=")[0].lower(): part for part in cookie.split(";")}
    assert {"httponly", "secure", "samesite", "max-age"} <= set(attributes)
    assert "Strict" in attributes["samesite"]
    assert 0 < int(attributes["max-age"].split("=")[1]) <= 12 * 3600
    assert client.get("/conversations").status_code == 200

    # Expired on the server: refused even though the browser still holds the cookie.
    with world.backend.begin() as connection:
        connection.execute(
            text("UPDATE console_sessions SET expires_at = '2000-01-01 00:00:00' WHERE worker_id = 'S001'")
        )
    assert client.get("/conversations").status_code == 303

    # Signing out ends the session for good, even if the old cookie is replayed.
    client = signed_in(console, "S001")
    stolen = dict(client.cookies)
    assert client.post("/logout").status_code == 303
    replay = console.client()
    replay.cookies.update(stolen)
    assert replay.get("/conversations").status_code == 303


def test_csrf_is_checked_on_every_form(console_world: tuple[World, RunningConsole]) -> None:
    world, console = console_world
    conversation = world.conversations["fallback_web"]
    client = signed_in(console, "S001")
    page = client.get(f"/conversations/{conversation}")
    event_id = page.text.split('name="event_id" value="', 1)[1].split('"', 1)[0]
    flag = {
        "event_id": event_id,
        "reason": "wrong_intent",
        "expected_intent": "out_of_scope",
        "example": "mausam kaisa hai",
    }

    def flags_on_record() -> int:
        with world.backend.connect() as connection:
            return connection.execute(
                text("SELECT count(*) FROM console_flags WHERE conversation_id = :c"), {"c": conversation}
            ).scalar_one()

    before = flags_on_record()
    assert client.post(f"/conversations/{conversation}/flags", flag, csrf=False).status_code == 403
    assert client.post(f"/conversations/{conversation}/flags", {**flag, "csrf_token": "forged"}).status_code == 403
    # The right token from a foreign page is still refused.
    assert (
        client.post(
            f"/conversations/{conversation}/flags", flag, headers={"Origin": "https://evil.example"}
        ).status_code
        == 403
    )
    assert client.post(f"/conversations/{conversation}/review", {"reviewed": "1"}, csrf=False).status_code == 403
    assert client.post("/logout", csrf=False).status_code == 403
    assert flags_on_record() == before

    assert client.post(f"/conversations/{conversation}/flags", flag).status_code == 303
    assert flags_on_record() == before + 1

    # The sign-in form is protected too: no token from the login page, no sign-in.
    fresh = console.client()
    assert fresh.post("/login", {"username": "S001", "password": PASSWORD}, csrf=False).status_code == 403


def test_a_supervisor_sees_only_their_facilities(console_world: tuple[World, RunningConsole]) -> None:
    world, console = console_world
    block = signed_in(console, "S002")  # chc-pindwara block: W001 (hwc-ajari) and W003, not W002 (Abu Road)
    listing = block.get("/conversations").text
    assert f'data-conversation="{world.conversations["encounter_voice"]}"' in listing
    assert f'data-conversation="{world.conversations["fallback_web"]}"' in listing
    assert 'data-sender="W002"' not in listing

    foreign = world.conversations["consult_whatsapp"]
    for path in (
        f"/conversations/{foreign}",
        f"/conversations/{foreign}/export.json",
        f"/conversations/{foreign}/export.csv",
        f"/consults/{world.consults['consult_whatsapp']}",
        f"/encounters/{world.encounters['abu_road']}",
        f"/encounters/{world.encounters['abu_road']}/fhir",
        "/conversations?worker=W002",
        "/conversations?facility=chc-abu-road",
    ):
        response = block.get(path)
        assert response.status_code == 404, path
        assert "4521" not in response.text and "9911" not in response.text, path
    assert (
        block.post(f"/conversations/{foreign}/flags", {"event_id": foreign + 3, "reason": "other"}).status_code == 404
    )
    assert block.get("/audit").status_code == 403

    district = signed_in(console, "S001")  # dh-sirohi: the whole district
    assert 'data-sender="W002"' in district.get("/conversations").text
    assert district.get(f"/conversations/{foreign}").status_code == 200
    assert district.get("/audit").status_code == 403
    admin = signed_in(console, "A001")
    assert admin.get(f"/encounters/{world.encounters['abu_road']}").status_code == 200
    assert admin.get("/audit").status_code == 200


def test_worker_accounts_are_refused(console_world: tuple[World, RunningConsole]) -> None:
    world, console = console_world
    worker = console.client()
    response = worker.login("W001", PASSWORD)
    assert response.status_code == 401 and "Wrong id or password" in response.text

    # A supervisor signed in, then demoted to field worker: the session dies and sign-in is refused.
    client = signed_in(console, "S900")
    world.demote("S900")
    assert client.get("/conversations").status_code == 303
    refused = console.client().login("S900", PASSWORD)
    assert refused.status_code == 403
    assert "Only supervisors and admins" in refused.text
    assert "console_session" not in refused.headers.get("Set-Cookie", "")


@pytest.fixture()
def fresh_console(tmp_path: Path, artifacts_dir: Path) -> Iterator[tuple[World, RunningConsole]]:
    """A console of its own: the rate limit locks out an address, which other tests share."""
    with console_over(
        build_world(tmp_path), artifacts_dir, env={"ASSISTANT_CONSOLE_LOGIN_MAX_FAILURES": "3"}
    ) as running:
        yield running


@pytest.mark.slow
def test_login_rate_limit(fresh_console: tuple[World, RunningConsole]) -> None:
    world, console = fresh_console
    attacker = console.client()
    for _ in range(3):
        assert attacker.login("S001", "guess-" + "x" * 8).status_code == 401
    # The account is locked now, even for the right password...
    locked = attacker.login("S001", PASSWORD)
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in locked.text
    # ...but other accounts still work from here until the address itself runs out.
    assert console.client().login("S002", PASSWORD).status_code == 303
    for number in range(9):
        attacker.login(f"nobody{number}", "guess-" + "x" * 8)
    assert console.client().login("A001", PASSWORD).status_code == 429
    with world.backend.connect() as connection:
        throttled = connection.execute(
            text("SELECT count(*) FROM console_audit WHERE action = 'login_throttled'")
        ).scalar_one()
    assert throttled >= 2


@pytest.mark.slow
def test_a_record_planted_in_another_workers_conversation_is_not_shown(
    fresh_console: tuple[World, RunningConsole],
) -> None:
    """Older data (before conversation_id came from the caller) could name anyone's conversation."""
    world, console = fresh_console
    voice = world.conversations["encounter_voice"]  # W001's conversation
    before = signed_in(console, "S001").get(f"/conversations/{voice}").text
    with world.backend.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO encounters (patient_ref, age_years, sex, complaint, worker_id, facility_id, channel, "
                "conversation_id, created_at, updated_at) SELECT '553311', 40, 'male', 'planted', 'W002', "
                "'sc-abu-road', 'api', 'W001', created_at, updated_at FROM encounters WHERE id = :id"
            ),
            {"id": world.encounters["encounter_voice"]},
        )
    for viewer in ("S001", "A001"):
        page = signed_in(console, viewer).get(f"/conversations/{voice}").text
        assert "553311" not in page and "planted" not in page, viewer
        listing = signed_in(console, viewer).get("/conversations").text
        assert "553311" not in listing
    assert "7788" in before  # W001's own encounter is still shown


@pytest.mark.slow
def test_a_password_change_ends_every_session_of_that_account(fresh_console: tuple[World, RunningConsole]) -> None:
    world, console = fresh_console
    client = signed_in(console, "S001")
    assert client.get("/conversations").status_code == 200
    set_console_password(world.db_url, "S001", "a-brand-new-password")
    assert client.get("/conversations").status_code == 303  # back to the sign-in page
    assert console.client().login("S001", PASSWORD).status_code == 401
    assert console.client().login("S001", "a-brand-new-password").status_code == 303


@pytest.mark.parametrize("target", ["/\t/evil.example", "//evil.example", "/\\evil.example", "https://evil.example"])
def test_sign_in_never_redirects_off_site(console_world: tuple[World, RunningConsole], target: str) -> None:
    _, console = console_world
    client = console.client()
    client.get("/login", params={"next": target})
    answer = client.post("/login", {"username": "S001", "password": PASSWORD, "next": target})
    assert (answer.status_code, answer.headers["Location"]) == (303, "/conversations")
    kept = console.client()
    kept.get("/login")
    inside = kept.post("/login", {"username": "S001", "password": PASSWORD, "next": "/flags?x=1"})
    assert inside.headers["Location"] == "/flags?x=1"


def test_admins_register_deactivate_and_reactivate_people(fresh_console: tuple[World, RunningConsole]) -> None:
    world, console = fresh_console
    supervisor = signed_in(console, "S001")
    assert supervisor.get("/people").status_code == 200  # supervisors read their people (test_people_scale.py)
    assert supervisor.post("/people/W001/active", {"active": "0"}).status_code == 403  # but do not manage them
    admin = signed_in(console, "A001")
    page = admin.get("/people")
    assert page.status_code == 200 and "W001" in page.text
    added = admin.post(
        "/people", {"worker_id": "w077", "name": "New ASHA", "facility_id": "hwc-ajari", "role": "worker"}
    )
    assert added.status_code == 303
    taken = admin.post("/people", {"worker_id": "W077", "name": "Again", "facility_id": "hwc-ajari"})
    assert taken.status_code == 400 and "already registered" in taken.text
    assert admin.post("/people/W077/active", {"active": "0"}).status_code == 303
    assert admin.post("/people/A001/active", {"active": "0"}).status_code == 400  # not oneself
    assert admin.post("/people/W077/active", {"active": "0"}, csrf=False).status_code == 403  # CSRF
    with world.backend.connect() as connection:
        active = connection.execute(text("SELECT active FROM workers WHERE id = 'W077'")).scalar_one()
        actions = connection.execute(
            text("SELECT action, target FROM console_audit WHERE actor = 'A001' AND action LIKE '%person%'")
        ).all()
    assert not active
    assert [tuple(row) for row in actions] == [("add_person", "worker W077"), ("deactivate_person", "account W077")]


def test_a_form_whose_bytes_are_not_utf8_is_refused_in_words(console_world: tuple[World, RunningConsole]) -> None:
    world, console = console_world
    conversation = world.conversations["fallback_web"]

    def post_raw(client: ConsoleClient, path: str, fields: bytes) -> Response:
        body = fields + b"&csrf_token=" + (client.last_csrf or "").encode()
        return client.request("POST", path, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})

    def flags_on_record() -> int:
        with world.backend.connect() as connection:
            return connection.execute(
                text("SELECT count(*) FROM console_flags WHERE conversation_id = :c"), {"c": conversation}
            ).scalar_one()

    stranger = console.client()
    stranger.get("/login")
    for username in (b"S\xed\xa0\x80", b"S\xff"):  # an encoded lone surrogate; a byte UTF-8 never uses
        refused = post_raw(stranger, "/login", b"username=" + username + b"&password=x")
        assert refused.status_code == 400 and "not valid Unicode" in refused.text

    client = signed_in(console, "S001")
    page = client.get(f"/conversations/{conversation}")
    event_id = page.text.split('name="event_id" value="', 1)[1].split('"', 1)[0].encode()
    before = flags_on_record()
    flag = b"event_id=" + event_id + b"&reason=wrong_intent&expected_intent=out_of_scope&example=mausam\xed\xa0\x80"
    refused = post_raw(client, f"/conversations/{conversation}/flags", flag)
    assert refused.status_code == 400 and "not valid Unicode" in refused.text
    assert flags_on_record() == before
