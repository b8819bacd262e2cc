"""The action server's parts wired to a real backend (or to none), on a temporary data directory."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from actions.services import Services, services, use
from assistant.core.config import load_settings
from assistant.http.backend_client import Timeouts
from tests.support.backend import RunningBackend
from tests.support.processes import free_port

# Short, so the unreachable cases stay quick; the logic is the production one.
TEST_TIMEOUTS = Timeouts(connect=1.0, total=2.0, retries=1, backoff=0.05)


@pytest.fixture
def make_services(tmp_path: Path) -> Callable[..., Services]:
    """``make_services(backend_url, token, data_dir=...)``: build and install the action server's parts."""

    def make(backend_url: str, token: str = "no-token", data_dir: Path = tmp_path / "device") -> Services:
        settings = dataclasses.replace(load_settings(), data_dir=data_dir, backend_url=backend_url, service_token=token)
        parts = Services.from_settings(settings, TEST_TIMEOUTS)
        use(parts)
        return parts

    return make


@pytest.fixture(autouse=True)
async def close_backend_connections() -> AsyncIterator[None]:
    """The backend client keeps its connections open between turns; each test's are closed after it."""
    yield
    await services().backend.close()


@pytest.fixture(autouse=True)
def device(make_services: Callable[..., Services]) -> Services:
    """Every test gets its own phone: a fresh data directory and, unless it asks for one, no hub."""
    return make_services(f"http://127.0.0.1:{free_port()}")


@pytest.fixture
def online(sqlite_backend: RunningBackend, make_services: Callable[..., Services]) -> Services:
    return make_services(sqlite_backend.url, sqlite_backend.token("service"))


@pytest.fixture
def offline(make_services: Callable[..., Services]) -> Services:
    """Nothing listens on the backend's port: every request is refused."""
    return make_services(f"http://127.0.0.1:{free_port()}")


@pytest.fixture
def silent_backend_url() -> Iterator[str]:
    """A port that accepts connections and never answers: requests time out."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
