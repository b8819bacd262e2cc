"""Session-wide fixtures: real PostgreSQL, the real backend on real databases, the running stack."""

from __future__ import annotations

import itertools
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import settings as hypothesis_settings

from tests.support.backend import RunningBackend, serve_backend
from tests.support.in_process import seeded
from tests.support.postgres import PostgresServer

if TYPE_CHECKING:
    from tests.support.fake_graph import FakeGraphApi
    from tests.support.media_server import MediaServer
    from tests.support.stack import RunningStack

_database_names = itertools.count(1)

# Property tests draw the same examples on every run, so CI is never red by
# chance; HYPOTHESIS_PROFILE=explore draws new ones to hunt for bugs.
hypothesis_settings.register_profile("repeatable", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


# A test that uses one of these fixtures carries the marker, so `make test-fast`
# (``-m "not stack and not postgres ..."``) leaves it out without anyone remembering to mark it.
FIXTURE_MARKERS = {"running_stack": "stack", "push_stack": "stack", "postgres": "postgres"}
NEEDS_THE_MODEL = ("stack", "model")
# The session's shared stacks: every module that talks to one runs in the same worker, which starts them once.
SHARED_STACKS = ("running_stack", "push_stack")
SHARED_STACKS_GROUP = "shared-stacks"
# The groups that take longest once the model is trained (every conversation on the shared stacks, the
# fault suite's `assistant up`, killed and restarted, and the follow-up story's two starts): started first.
LONGEST_GROUPS = (SHARED_STACKS_GROUP, "faults.test_kills", "voice.test_follow_up_story")
# A group that holds a test needing the trained model is named with this prefix, so that the scheduler,
# which sees only test ids, can tell the groups that must wait for the training from those that need not.
NEEDS_THE_MODEL_PREFIX = "model:"
# While the model trains (in the controller, pytest_sessionstart), the test workers yield it the CPU: the
# groups waiting for it are the longest, so the sooner it is there the sooner the suite ends. The workers'
# own services inherit the same niceness, so among tests nothing changes.
WORKER_NICENESS = 5


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, marker in FIXTURE_MARKERS.items():
            if fixture in _fixtures(item):
                item.add_marker(marker)
    on_shared_stacks = {_module(item) for item in items if set(SHARED_STACKS) & set(_fixtures(item))}
    groups = {item: group_for_workers(_module(item), on_shared_stacks) for item in items}
    # Groups that need no trained model run first, while the model trains in the background
    # (pytest_sessionstart); a group holding one test that needs it waits as a whole, and is taken as
    # soon as the model is there (pytest_xdist_make_scheduler). Within each, the longest start first
    # (the known longest, then by their number of tests), so that the others fill in around them.
    waiting = {group for item, group in groups.items() if needs_the_model(item)}
    for item, group in groups.items():
        item.add_marker(pytest.mark.xdist_group(NEEDS_THE_MODEL_PREFIX + group if group in waiting else group))
    sizes = Counter(groups.values())

    def order(item: pytest.Item) -> tuple[bool, bool, int]:
        group = groups[item]
        return group in waiting, group not in LONGEST_GROUPS, -sizes[group]

    items.sort(key=order)


def needs_the_model(item: pytest.Item) -> bool:
    return any(item.get_closest_marker(marker) for marker in NEEDS_THE_MODEL)


def _module(item: pytest.Item) -> str:
    return item.module.__name__ if isinstance(item, pytest.Function) else item.nodeid.split("::")[0]


def _fixtures(item: pytest.Item) -> list[str]:
    return list(getattr(item, "fixturenames", ()))


def group_for_workers(module: str, on_shared_stacks: set[str]) -> str:
    """Which of ``pytest -n 2 --dist loadgroup``'s groups (``make test``) a test of ``module`` runs in.

    Each module stays whole in one worker process, in its order, with its
    module-scoped fixtures started once; and every module that talks to a
    shared stack joins one group, so that the stacks start in one worker only.
    """
    return SHARED_STACKS_GROUP if module in on_shared_stacks else module.removeprefix("tests.")


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup``, handing the groups out in the order ``pytest_collection_modifyitems`` gave them,
    except that once the model is trained, the groups that wait for it come next."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    from tests.support.stack import model_is_trained

    class InCollectionOrder(LoadGroupScheduling):
        """pytest-xdist orders the groups by their number of tests alone; here, first collected, first run."""

        def _assign_work_unit(self, node: Any) -> None:
            if not getattr(self, "_ordered", False):
                first_seen: dict[str, int] = {}
                for index, nodeid in enumerate(self.collection or ()):
                    first_seen.setdefault(self._split_scope(nodeid), index)
                for scope in sorted(self.workqueue, key=first_seen.__getitem__):
                    self.workqueue.move_to_end(scope)
                self._ordered = True
            if model_is_trained():
                waited = next((scope for scope in self.workqueue if scope.startswith(NEEDS_THE_MODEL_PREFIX)), None)
                if waited is not None:
                    self.workqueue.move_to_end(waited, last=False)
            super()._assign_work_unit(node)

    return InCollectionOrder(config, log)


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # a pytest-xdist worker (``make test``)
        os.nice(WORKER_NICENESS)


def pytest_sessionstart(session: pytest.Session) -> None:
    """The whole suite (``make test``): start training at once, while the worker processes start and collect."""
    config = session.config
    excluded = {f"not {marker}" for marker in NEEDS_THE_MODEL} <= {part.strip() for part in _and_parts(config)}
    if config.args_source == pytest.Config.ArgsSource.TESTPATHS and not excluded:
        from tests.support.stack import train_in_background

        train_in_background()


def _and_parts(config: pytest.Config) -> list[str]:
    return str(config.option.markexpr or "").split(" and ")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start training the model now if any selected test needs it (trained once, whoever asks first)."""
    if any(needs_the_model(item) for item in session.items):
        from tests.support.stack import train_in_background

        train_in_background()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Logs and screenshots kept after the run (test-artifacts/)."""
    path = Path(__file__).resolve().parents[1] / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def backend_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., RunningBackend]]:
    """Serve the backend on a new database: ``backend_factory("sqlite")`` or ``backend_factory(pg_url)``.

    The backend's own app, prepared as ``assistant serve backend`` prepares it,
    from a thread of this process (``tests/support/backend.py``).
    """
    started: list[RunningBackend] = []

    def factory(db_url: str = "sqlite") -> RunningBackend:
        if db_url == "sqlite":
            db_url = f"sqlite:///{tmp_path_factory.mktemp('backend') / 'backend.db'}"
        seeded(db_url)
        backend = serve_backend(db_url)
        started.append(backend)
        return backend

    yield factory
    for backend in started:
        backend.stop()


@pytest.fixture(scope="module")
def sqlite_backend(backend_factory: Callable[..., RunningBackend]) -> RunningBackend:
    return backend_factory("sqlite")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_backend(request: pytest.FixtureRequest, backend_factory: Callable[..., RunningBackend]) -> RunningBackend:
    """The same tests against SQLite and against a real PostgreSQL server."""
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres")
        return backend_factory(server.create_database(f"backend_{next(_database_names)}"))
    return backend_factory("sqlite")


@pytest.fixture(scope="session")
def fake_graph() -> Iterator[FakeGraphApi]:
    """The stand-in for Meta's Graph API that the stack's WhatsApp channel talks to."""
    from tests.support.fake_graph import FakeGraphApi
    from tests.support.whatsapp import ACCESS_TOKEN

    graph = FakeGraphApi(ACCESS_TOKEN).start()
    yield graph
    graph.stop()


@pytest.fixture(scope="session")
def media_server() -> Iterator[MediaServer]:
    """A media host handing out voice notes too large (tests/support/media_server.py), one the stack may fetch from."""
    from tests.support.media_server import MediaServer

    server = MediaServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def running_stack(
    tmp_path_factory: pytest.TempPathFactory, fake_graph: FakeGraphApi, media_server: MediaServer
) -> Iterator[RunningStack]:
    """The real assistant: trained model served by `rasa run`, action server, backend on SQLite.

    One per test session, in one worker (Rasa takes a while to start); tests keep their
    conversations apart with ``running_stack.new_worker()``. Its WhatsApp
    channel sends to ``fake_graph`` (tests/support/whatsapp.py has its secrets); its
    Twilio channel fetches voice notes from ``fake_graph`` and ``media_server`` only.
    """
    from tests.support.stack import start_stack
    from tests.support.whatsapp import stack_settings

    settings = stack_settings(fake_graph.url, media_server.url)
    stack: RunningStack = start_stack(tmp_path_factory.mktemp("stack"), **settings)
    yield stack
    stack.stop()
