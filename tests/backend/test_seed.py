"""`assistant seed` is idempotent and loads what the issue promises."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from tests.support.processes import assistant_cli


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url, future=True)
    with engine.connect() as connection:
        result = {
            table: connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
            for table in ("facilities", "workers", "specialists", "slots", "checklists", "checklist_steps")
        }
        per_specialty = connection.execute(
            text("SELECT MIN(n) FROM (SELECT COUNT(*) AS n FROM specialists GROUP BY specialty) AS t")
        ).scalar_one()
        facilities = connection.execute(text("SELECT COUNT(DISTINCT facility_id) FROM specialists")).scalar_one()
        supervisors = connection.execute(text("SELECT COUNT(*) FROM workers WHERE role = 'supervisor'")).scalar_one()
    engine.dispose()
    return {
        **result,
        "min_per_specialty": per_specialty,
        "specialist_facilities": facilities,
        "supervisors": supervisors,
    }


def test_seed_twice_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'seed.db'}"
    assistant_cli("seed", "--db", url)
    first = counts(url)
    output = assistant_cli("seed", "--db", url)
    assert "added 0 facilities, 0 workers, 0 specialists, 0 slots" in output
    assert counts(url) == first
    assert first["min_per_specialty"] >= 2 and first["specialist_facilities"] >= 2
    assert first["checklists"] == 12 and first["supervisors"] >= 1
    # 14 days of slots for every specialist (today's past times excluded).
    assert first["slots"] >= first["specialists"] * 6 * 13


def test_seed_works_on_postgres(postgres) -> None:  # type: ignore[no-untyped-def]
    url = postgres.create_database("seed_check")
    assistant_cli("seed", "--db", url)
    assistant_cli("seed", "--db", url)
    assert counts(url)["checklists"] == 12
