"""The whole assistant (backend, action server, ``rasa run``) for end-to-end tests.

It is assembled from the same service definitions and supervisor that
``assistant up`` uses, but without automatic restarts, so a test can stop
and start one service (the backend, say) and watch the rest cope.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from assistant.core.config import PROJECT_DIR, Settings, load_settings
from assistant.core.secrets import rasa_token
from assistant.domain.api_tokens import local_worker_token
from assistant.stack.services import rasa_service, service_environment, stack_services
from assistant.stack.supervisor import Supervisor
from assistant.stack.tokens import service_token
from assistant.stack.training import ensure_model
from tests.support.processes import free_port

if TYPE_CHECKING:
    from tests.support.postgres import PostgresServer
    from tests.support.redis import RedisServer

# Shared across test sessions on one machine: training happens once per change of data.
MODEL_CACHE = PROJECT_DIR / ".cache" / "models"
_training: Future[Path] | None = None


def train_in_background() -> None:
    """Train the model (if its fingerprint has none yet) on a thread, while tests that need none run."""
    global _training
    if _training is not None:
        return
    training = _training = Future()

    def train() -> None:
        try:
            training.set_result(_ensure_model())
        except BaseException as exc:  # kept for the first test that needs the model
            training.set_exception(exc)

    threading.Thread(target=train, name="training", daemon=True).start()  # never holds up the session's end


def _ensure_model() -> Path:
    return ensure_model(dataclasses.replace(load_settings(), model_dir=str(MODEL_CACHE)))


def model_is_trained() -> bool:
    """Whether this process's background training has finished (the model is there, or failed to be)."""
    return _training is not None and _training.done()


def trained_model() -> Path:
    """The trained model: the background training's (waiting for it, or its error), else trained now."""
    return _training.result() if _training is not None else _ensure_model()


@dataclass
class RunningStack:
    settings: Settings
    supervisor: Supervisor
    rasa_token: str
    service_token: str
    _engines: dict[str, Engine] = field(default_factory=dict)
    _worker_tokens: dict[str, str] = field(default_factory=dict)

    @property
    def rasa_url(self) -> str:
        return self.settings.rasa_base_url

    @property
    def backend_url(self) -> str:
        return self.settings.backend_base_url

    @property
    def backend_db_url(self) -> str:
        return self.settings.database_url

    @property
    def tracker_db_url(self) -> str:
        return self.settings.tracker_database_url

    def engine(self, url: str) -> Engine:
        if url not in self._engines:
            self._engines[url] = create_engine(url, future=True)
        return self._engines[url]

    @property
    def backend_db(self) -> Engine:
        return self.engine(self.backend_db_url)

    def worker_token(self, worker_id: str) -> str:
        """The worker's own token, as ``assistant chat`` gets it (``local_worker_token``)."""
        if worker_id not in self._worker_tokens:
            self._worker_tokens[worker_id] = local_worker_token(self.settings, worker_id)
        return self._worker_tokens[worker_id]

    def post_turn(self, token: str | None, body: dict[str, Any], url: str | None = None) -> requests.Response:
        """One raw request to Rasa's REST channel, with ``token`` as the bearer (``None``: none)."""
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return requests.post(f"{url or self.rasa_url}/webhooks/rest/webhook", json=body, headers=headers, timeout=60)

    def say(
        self, sender: str, message: str, metadata: dict[str, Any] | None = None, url: str | None = None
    ) -> list[dict[str, Any]]:
        """One user turn of worker ``sender`` through Rasa's REST channel; the bot's messages come back."""
        body = {"sender": sender, "message": message, "metadata": metadata or {"channel": "rest"}}
        response = self.post_turn(self.worker_token(sender), body, url)
        response.raise_for_status()
        return response.json()

    def tracker(self, sender: str) -> dict[str, Any]:
        response = requests.get(
            f"{self.rasa_url}/conversations/{sender}/tracker", params={"token": self.rasa_token}, timeout=30
        )
        response.raise_for_status()
        return response.json()

    def new_worker(self, facility: str = "hwc-ajari", role: str = "worker", name: str = "Test Worker") -> str:
        """A fresh worker, so each test has a conversation of its own."""
        worker_id = f"T{uuid.uuid4().hex[:10].upper()}"
        with self.backend_db.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO workers (id, name, facility_id, role, active) VALUES (:id, :name, :facility, "
                    ":role, :active)"
                ),
                {"id": worker_id, "name": name, "facility": facility, "role": role, "active": True},
            )
        return worker_id

    def stop(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self.supervisor.stop_all()


def start_stack(data_dir: Path, **overrides: Any) -> RunningStack:
    model = trained_model()
    settings = dataclasses.replace(
        load_settings(),
        data_dir=data_dir,
        host="127.0.0.1",
        backend_port=free_port(),
        actions_port=free_port(),
        rasa_port=free_port(),
        console_port=free_port(),
        model_dir=str(MODEL_CACHE),
        **overrides,
    )
    tokens = (service_token(settings), rasa_token(settings))
    supervisor = Supervisor(stack_services(settings, model, *tokens), data_dir / "logs")
    supervisor.start_all()
    return RunningStack(settings, supervisor, rasa_token=tokens[1], service_token=tokens[0])


def start_district(
    data_dir: Path, postgres: PostgresServer, redis: RedisServer, databases: str = "district", **overrides: Any
) -> tuple[RunningStack, str]:
    """The stack on PostgreSQL + Redis plus a second Rasa server (no console); the stack and that server's URL.

    Both Rasa servers share the channel state (message claims, waiting replies) on PostgreSQL too.
    """
    settings = dataclasses.replace(
        load_settings(),
        data_dir=data_dir,
        backend_port=free_port(),
        actions_port=free_port(),
        rasa_port=free_port(),
        console_port=free_port(),
        model_dir=str(MODEL_CACHE),
        db_url=postgres.create_database(f"{databases}_backend"),
        tracker_db_url=postgres.create_database(f"{databases}_tracker"),
        channels_db_url=postgres.create_database(f"{databases}_channels"),
        lock_store_url=redis.url,
        **overrides,
    )
    model = trained_model()
    tokens = (service_token(settings), rasa_token(settings))
    second = dataclasses.replace(settings, rasa_port=free_port())
    services = [spec for spec in stack_services(settings, model, *tokens) if spec.name != "console"]
    services.append(rasa_service(second, model, tokens[1], service_environment(second, tokens[0]), name="rasa-2"))
    supervisor = Supervisor(services, data_dir / "logs")
    supervisor.start_all()
    return RunningStack(settings, supervisor, rasa_token=tokens[1], service_token=tokens[0]), second.rasa_base_url
