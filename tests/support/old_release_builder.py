"""Run inside an earlier release's own tree (``tests/support/old_releases.py``): its databases, made by its own code.

Usage: python -c <this file's text> DATA_DIR BACKEND_URL CHANNELS_URL, with
that release's tree first on the path. It loads the release's demo with its
own seed, books, cancels and records through its own backend app (an
in-process aiohttp client, with a token made by its own function), marks a
no-show where the release had them, and fills its channel state and its
action server's outbox through its own code. Prints what it made, as JSON.

The releases differ in where things live, so each name is looked up where
either release kept it. Nothing here may import today's code: it is not on the path.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import json
import sys
from pathlib import Path
from typing import Any


def only_this_release() -> None:
    """Today's tree out of reach: the shared virtualenv's editable install would answer any module this release lacks.

    Its finder (setuptools' ``__editable__`` one) maps ``assistant.*`` to today's
    checkout, so ``assistant.db`` would be found there for a release that has
    none, and that release would make today's tables.
    """
    sys.meta_path[:] = [finder for finder in sys.meta_path if "__editable__" not in getattr(finder, "__module__", "")]
    import assistant

    here = Path.cwd().resolve()
    assert Path(assistant.__file__).resolve().is_relative_to(here), f"assistant from {assistant.__file__}, not {here}"


def first(*candidates: str) -> Any:
    """The first of ``module:name`` that this release has."""
    for candidate in candidates:
        module, _, name = candidate.partition(":")
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    raise ImportError(f"none of {candidates} in this release")


async def backend(url: str) -> dict[str, Any]:
    from aiohttp.test_utils import TestClient, TestServer

    from assistant.backend.app import create_app
    from assistant.backend.seed import seed

    database = first("assistant.db.engine:Database", "assistant.backend.database:Database")
    create_token = first("assistant.domain.api_tokens:create_token", "assistant.backend.auth:create_token")
    db = database.connect(url)
    await seed(db)
    async with db.write() as session:
        worker = await create_token(session, "worker", "W001", "old release")
        coordinator = (
            await create_token(session, "coordinator", "H001", "old release") if await has_h001(session) else None
        )
    made: dict[str, Any] = {"consults": [], "encounters": [], "no_show": None}
    async with TestClient(TestServer(create_app(db))) as client:
        headers = {"Authorization": f"Bearer {worker}"}
        for number, specialty in enumerate(("general_medicine", "pediatrics", "general_medicine")):
            answer = await client.post(
                "/consults",
                json={"patient_ref": f"OLD-{number}", "specialty": specialty, "urgency": "routine", "reason": "old"},
                headers={**headers, "Idempotency-Key": f"old-consult-{number}"},
            )
            assert answer.status == 201, await answer.text()
            made["consults"].append((await answer.json())["id"])
        cancelled = made["consults"][1]
        answer = await client.post(f"/consults/{cancelled}/cancel", json={"reason": "old"}, headers=headers)
        assert answer.status == 200, await answer.text()
        for number in range(2):
            answer = await client.post(
                "/encounters",
                json={"patient_ref": f"OLD-E{number}", "age": 30 + number, "complaint": "cough", "notes": "old"},
                headers={**headers, "Idempotency-Key": f"old-encounter-{number}"},
            )
            assert answer.status == 201, await answer.text()
            made["encounters"].append((await answer.json())["id"])
        if coordinator is not None:  # a release with the hub desk: its coordinator marks a no-show
            consult = made["consults"][2]
            answer = await client.post(
                f"/consults/{consult}/no_show", json={}, headers={"Authorization": f"Bearer {coordinator}"}
            )
            assert answer.status == 200, await answer.text()
            made["no_show"] = consult
    return made


async def has_h001(session: Any) -> bool:
    from sqlalchemy import text

    return bool((await session.execute(text("SELECT count(*) FROM workers WHERE id = 'H001'"))).scalar())


async def channels(url: str) -> None:
    from assistant.channels.state import ChannelState

    state = ChannelState(url, identity_key="old-release-key")
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    try:
        claim = await state.claim("whatsapp", "wamid.old-1")
        assert claim.is_new
        await state.finish("whatsapp", "wamid.old-1", {"answered": True})
        await state.end_session("old-session", later)
        await state.remember_sender("whatsapp", "+919800000001", {"id": "W001"})
        if hasattr(state, "remember_choices"):  # the 2026-12-01 release's numbered choices
            await state.remember_choices("web", "W001", ["/affirm", "/deny"])
            await state.keep_undelivered("whatsapp", {"business_number_id": "1"}, {"to": "+919800000001"})
        else:
            expected = first("assistant.channels.state:Expected")
            await state.expect("web", "W001", expected(payloads=("/affirm", "/deny")))
    finally:
        await state.close()


def outbox(data_dir: Path) -> None:
    open_engine = first("assistant.db.device:open_engine", "actions.localdb:open_engine")
    module = importlib.import_module(open_engine.__module__)
    engine = open_engine(data_dir)
    now = dt.datetime(2026, 11, 30, 8, 0)
    with engine.begin() as connection:
        for number, status in enumerate(("pending", "delivered")):
            connection.execute(
                module.outbox_table.insert().values(
                    kind="encounter",
                    idempotency_key=f"old-outbox-{number}",
                    worker_id="W001",
                    payload=json.dumps({"patient_ref": f"OLD-O{number}"}),
                    status=status,
                    attempts=number,
                    created_at=now,
                    updated_at=now,
                )
            )
        connection.execute(module.checklist_cache_table.insert().values(key="index", body="[]", fetched_at=1.0))
    engine.dispose()


def main(data_dir: str, backend_url: str, channels_url: str) -> None:
    only_this_release()
    made = asyncio.run(backend(backend_url))
    asyncio.run(channels(channels_url))
    outbox(Path(data_dir))
    print(json.dumps(made))


if __name__ == "__main__":
    main(*sys.argv[1:4])
