"""The People page with hundreds of people: a page at a time, searched and filtered, within the viewer's scope.

The real console over a seeded backend with a few hundred more people
written straight into its table (as an import would leave them), some in the
other hub's district (Rajsamand) where no Sirohi supervisor may look.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, text

from assistant.db.models import Worker
from assistant.domain.people_search import PAGE_SIZE, SEARCH_LIMIT
from tests.console.conftest import PASSWORD, World, build_world, console_over
from tests.support.browser import chromium
from tests.support.console import ConsoleClient, RunningConsole
from tests.support.conversations import add_workers

# Spread over both districts: Sirohi's two blocks, and Rajsamand (the other hub's).
FACILITIES = ["hwc-ajari", "sc-abu-road", "chc-pindwara", "chc-abu-road", "sc-kelwara"]
GENERATED = 320
BLOCK = ("chc-pindwara", "hwc-ajari")  # what the block supervisor S002 sees
OUTSIDER = {"id": "K999", "name": "Zubeida Outsider", "facility_id": "sc-kelwara", "role": "worker", "active": True}
ROW_ID = re.compile(r'<tr class="person" data-id="([^"]+)"')
NEXT = re.compile(r'id="people-next" href="([^"]+)"')


@pytest.fixture(scope="module")
def people_world(
    tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path
) -> Iterator[tuple[World, RunningConsole]]:
    world = build_world(tmp_path_factory.mktemp("people"))
    add_workers(world.backend, FACILITIES, GENERATED)
    with world.backend.begin() as connection:
        connection.execute(insert(Worker.__table__), [OUTSIDER])
    with console_over(world, artifacts_dir) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium()


def signed_in(console: RunningConsole, user: str) -> ConsoleClient:
    client = console.client()
    assert client.login(user, PASSWORD).status_code == 303
    return client


def offered_facilities(page: str) -> list[str]:
    """The facility ids a page's pickers offer (its one list of them)."""
    options = page.split('<datalist id="facility-options">', 1)[1].split("</datalist>", 1)[0]
    return sorted(re.findall(r'<option value="([^"]+)">', options))


def ids_on(page: str) -> list[str]:
    return ROW_ID.findall(page)


def count_of(world: World, where: str = "1 = 1", **values: Any) -> int:
    with world.backend.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM workers WHERE {where}"), values).scalar_one())


def every_page(client: ConsoleClient, path: str) -> list[str]:
    """The ids on ``path`` and on every page its Next links lead to."""
    seen: list[str] = []
    for _ in range(100):
        page = client.get(path)
        assert page.status_code == 200, page.text
        seen += ids_on(page.text)
        following = NEXT.search(page.text)
        if following is None:
            return seen
        path = html.unescape(following.group(1))
    raise AssertionError("the Next links never end")


def test_one_page_at_a_time_with_the_total(people_world: tuple[World, RunningConsole]) -> None:
    world, console = people_world
    admin = signed_in(console, "A001")
    total = count_of(world)
    pages = -(-total // PAGE_SIZE)
    first = admin.get("/people")
    assert first.status_code == 200
    assert len(ids_on(first.text)) == PAGE_SIZE
    assert f"{total:,} people, page 1 of {pages}" in first.text
    assert 'id="people-previous"' not in first.text and 'id="people-next"' in first.text
    second = admin.get("/people?page=2")
    assert 'id="people-previous" href="/people?page=1"' in second.text
    assert not set(ids_on(first.text)) & set(ids_on(second.text))
    everyone = every_page(admin, "/people")
    assert len(everyone) == len(set(everyone)) == total
    assert everyone == sorted(everyone)
    # Past the last page: the last page, not an empty one or an error.
    beyond = admin.get("/people?page=9999")
    assert beyond.status_code == 200 and f"page {pages} of {pages}" in beyond.text
    assert ids_on(beyond.text) == everyone[(pages - 1) * PAGE_SIZE :]


def test_search_by_id_name_and_phone_and_the_links_keep_it(people_world: tuple[World, RunningConsole]) -> None:
    world, console = people_world
    admin = signed_in(console, "A001")
    by_id = admin.get("/people?q=b001")  # B00100-B00199: part of an id, any case
    assert f"{count_of(world, 'id LIKE :p', p='B001%')} people, page 1 of 2" in by_id.text
    assert 'id="people-next" href="/people?q=b001&amp;page=2"' in by_id.text
    assert 'value="b001"' in by_id.text  # the search box keeps it
    matched = every_page(admin, "/people?q=b001")
    assert matched == [f"B{n:05d}" for n in range(100, 200)]
    assert ids_on(admin.get("/people?q=SUNITA").text) == ["W001"]  # Sunita Devi, by name
    assert ids_on(admin.get("/people?q=9800000001").text) == ["W001"]  # the end of her phone number
    assert ids_on(admin.get("/people?q=outsider").text) == ["K999"]
    # LIKE's wildcards are searched for as themselves, and a broken UTF-8 escape as its letters.
    for wildcard in ("%", "_", "B00_01"):
        page = admin.get("/people", params={"q": wildcard})
        assert page.status_code == 200 and ids_on(page.text) == [], wildcard
    broken = admin.get("/people?q=%ED%A0%80")
    assert broken.status_code == 200 and ids_on(broken.text) == []
    # Facility (with those under it) and role, together with a search; the links keep all three.
    block = admin.get("/people?facility=chc-pindwara&role=worker&q=worker")
    expected = count_of(
        world, "facility_id IN ('chc-pindwara', 'hwc-ajari') AND role = 'worker' AND name LIKE 'Worker%'"
    )
    assert f"{expected} people" in block.text
    assert 'href="/people?q=worker&amp;facility=chc-pindwara&amp;role=worker&amp;page=2"' in block.text
    found = every_page(admin, "/people?facility=chc-pindwara&role=worker&q=worker")
    assert len(found) == expected
    with world.backend.connect() as connection:
        places = dict(connection.execute(text("SELECT id, facility_id FROM workers")).all())
    assert {places[worker] for worker in found} == set(BLOCK)


def test_a_supervisor_sees_only_their_subtree_whatever_the_parameters(
    people_world: tuple[World, RunningConsole],
) -> None:
    world, console = people_world
    block = signed_in(console, "S002")
    in_block = count_of(world, "facility_id IN ('chc-pindwara', 'hwc-ajari')")
    seen = every_page(block, "/people")
    assert len(seen) == in_block
    with world.backend.connect() as connection:
        places = dict(connection.execute(text("SELECT id, facility_id FROM workers")).all())
    assert {places[worker] for worker in seen} == set(BLOCK)
    # Searching, paging past the end, or naming a facility outside the block shows nothing outside it.
    for path in ("/people?q=zubeida", "/people?q=K999", "/people?q=W002", "/people?q=meena%20kumari"):
        page = block.get(path)
        assert page.status_code == 200 and ids_on(page.text) == [], path
        assert "Zubeida" not in page.text and "Meena" not in page.text, path
    assert set(ids_on(block.get("/people?page=10000").text)) <= set(seen)
    for outside in ("sc-kelwara", "chc-abu-road", "dh-sirohi", "no-such-place"):
        page = block.get(f"/people?facility={outside}")
        assert page.status_code == 404 and "No such facility in your facilities" in page.text, outside
        assert ids_on(page.text) == []
    # Their facility pickers offer only their own facilities.
    for path in ("/people", "/conversations"):
        assert offered_facilities(block.get(path).text) == sorted(BLOCK), path
    # The district supervisor sees Sirohi, never Rajsamand.
    district = every_page(signed_in(console, "S001"), "/people?q=b000")
    assert district and all(places[worker] != "sc-kelwara" for worker in district)
    assert len(district) == count_of(world, "id LIKE 'B000%' AND facility_id != 'sc-kelwara'")


def test_supervisors_read_but_only_admins_change(people_world: tuple[World, RunningConsole]) -> None:
    world, console = people_world
    block = signed_in(console, "S002")
    page = block.get("/people?q=w001")
    assert ids_on(page.text) == ["W001"]
    assert "/people/W001/active" not in page.text and 'id="add-person"' not in page.text
    assert block.post("/people/W001/active", {"active": "0"}).status_code == 403
    assert block.post("/people", {"worker_id": "W990", "name": "X", "facility_id": "hwc-ajari"}).status_code == 403
    with world.backend.connect() as connection:
        audited = connection.execute(
            text("SELECT target FROM console_audit WHERE actor = 'S002' AND action = 'view_people' ORDER BY id")
        ).scalars()
        assert '{"q": "w001", "page": 1}' in list(audited)
        assert connection.execute(text("SELECT active FROM workers WHERE id = 'W001'")).scalar_one()
    # An admin's change brings them back to the page they were on, search and all.
    admin = signed_in(console, "A001")
    admin.get("/people?q=b002&page=2")
    changed = admin.post("/people/B00250/active", {"active": "0", "q": "b002", "page": "2"})
    assert (changed.status_code, changed.headers["Location"]) == (303, "/people?q=b002&page=2")
    assert "deactivated" in admin.get("/people?q=B00250").text
    # Registering lands on the new person, wherever their page is.
    added = admin.post(
        "/people", {"worker_id": "W990", "name": "New ASHA", "facility_id": "sc-kelwara", "role": "worker"}
    )
    assert (added.status_code, added.headers["Location"]) == (303, "/people?q=W990")


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"page": "abc"}, "page: 'abc' is not a whole number."),
        ({"page": "0"}, "page must be between 1 and"),
        ({"page": "9" * 40}, "page must be between 1 and"),
        ({"q": "x" * (SEARCH_LIMIT + 1)}, f"at most {SEARCH_LIMIT} characters"),
        ({"q": "x" * 5_000}, f"at most {SEARCH_LIMIT} characters"),
        ({"q": "a\x00b"}, "characters no id or name has"),
        ({"role": "nurse"}, "Role must be one of"),
        ({"facility": "<script>"}, "is not a valid id"),
    ],
)
def test_bad_parameters_get_a_clear_page(
    people_world: tuple[World, RunningConsole], query: dict[str, str], says: str
) -> None:
    _, console = people_world
    page = signed_in(console, "A001").get("/people", params=query)
    assert page.status_code == 400
    assert "text/html" in page.headers["Content-Type"]
    assert says in html.unescape(page.text)
    assert ids_on(page.text) == [] and 'id="people-filters"' in page.text
    assert "<script>" not in page.text


@pytest.mark.browser
@pytest.mark.slow
def test_a_supervisor_types_a_search_and_picks_a_facility_in_chromium(
    people_world: tuple[World, RunningConsole], browser: Any, artifacts_dir: Path
) -> None:
    world, console = people_world
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(console.url + "/people")
        page.fill("#username", "S001")
        page.fill("#password", PASSWORD)
        page.click("#sign-in")
        page.wait_for_selector("#people")
        assert page.locator("#people tr.person").count() == PAGE_SIZE
        # The picker offers the district's facilities as the supervisor types, never the other hub's.
        offered = page.locator("#facility-options option")
        values = {offered.nth(n).get_attribute("value") for n in range(offered.count())}
        assert "chc-pindwara" in values and "sc-kelwara" not in values
        page.fill("#people-facility", "chc-pindwara")
        page.fill("#people-search", "b00")
        page.press("#people-search", "Enter")
        page.wait_for_url(re.compile(r"q=b00"))
        rows = page.locator("#people tr.person")
        expected = count_of(world, "id LIKE 'B00%' AND facility_id IN ('chc-pindwara', 'hwc-ajari')")
        assert f"{expected} people" in page.inner_text("#people-count")
        assert rows.count() == min(expected, PAGE_SIZE)
        assert "Worker B00" in rows.first.inner_text()
        page.click("#people-next")
        page.wait_for_url(re.compile(r"page=2"))
        assert page.input_value("#people-search") == "b00"
        assert page.input_value("#people-facility") == "chc-pindwara"
        page.screenshot(path=str(artifacts_dir / "people-search.png"), full_page=True)
    finally:
        context.close()
