"""The action server's shared parts, built once from the settings.

Configuration comes from ``assistant.core.config.load_settings()`` (environment
``ASSISTANT_BACKEND_URL``, ``ASSISTANT_SERVICE_TOKEN``, ``ASSISTANT_DATA_DIR``,
or ``assistant.toml``). Tests build their own ``Services`` against a real
backend and a temporary data directory and install them with ``use``.
"""

from __future__ import annotations

from dataclasses import dataclass

from actions.checklists_store import ChecklistStore
from actions.outbox import Outbox
from assistant.core.canonical import Canonicaliser
from assistant.core.config import Settings, load_settings
from assistant.db.device import open_engine
from assistant.http.backend_client import BackendClient, Timeouts

# The same synonym lists the NLU is trained on (nlu/synonyms.yml).
SYNONYM_FILES = ("synonyms.yml",)


@dataclass
class Services:
    settings: Settings
    backend: BackendClient
    outbox: Outbox
    checklists: ChecklistStore
    canonical: Canonicaliser

    @classmethod
    def from_settings(cls, settings: Settings, timeouts: Timeouts | None = None) -> Services:
        engine = open_engine(settings.data_dir)
        backend = BackendClient(settings.backend_base_url, settings.service_token, timeouts)
        nlu_dir = settings.project_dir / "nlu"
        return cls(
            settings=settings,
            backend=backend,
            outbox=Outbox(engine),
            checklists=ChecklistStore(engine, backend),
            canonical=Canonicaliser.from_nlu_files(nlu_dir / name for name in SYNONYM_FILES),
        )


_current: Services | None = None


def services() -> Services:
    global _current
    if _current is None:
        _current = Services.from_settings(load_settings())
    return _current


def use(replacement: Services) -> None:
    """Install services built elsewhere (tests: a real backend on a free port)."""
    global _current
    _current = replacement
