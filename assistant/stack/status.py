"""``assistant status``: how the assistant is doing, in words for whoever looks after the machine.

It asks each service for its health on its configured port, and reads the
queues from the databases themselves (``assistant.db.figures``), so it
answers whether the stack runs or not. Whatever needs a person (a service
down, no recent backup, a full disk, dead letters, records not reaching the
hub) is said as what to do, and makes the exit code 1, so a cron job or a
monitoring agent can act on it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.core.backup_age import backup_dir, last_backup_age
from assistant.core.config import Settings
from assistant.core.data_dir_figures import free_bytes
from assistant.db import figures
from assistant.stack.console_service import console_url
from assistant.stack.process import http_ok

# What each service is, for whoever reads the report.
DESCRIPTIONS = {
    "backend": "scheduling backend",
    "actions": "action server",
    "rasa": "conversation server (Rasa)",
    "console": "supervisor console",
}
GB = 1024**3
MB = 1024**2


@dataclass(frozen=True)
class Service:
    name: str
    health_url: str
    up: bool


@dataclass
class Report:
    services: list[Service]
    hub_queue: int | None
    pending_notices: int | None
    outbox: dict[str, int] | None
    oldest_waiting: dt.datetime | None
    dead_letters: dict[str, int] | None
    backup_age: float | None
    free_bytes: int | None
    problems: list[str] = field(default_factory=list)


def health_urls(settings: Settings) -> dict[str, str]:
    """Where each service says it is well. Rasa's own root page answers once its server is up."""
    return {
        "backend": f"{settings.backend_base_url}/health",
        "actions": f"{settings.actions_base_url}/health",
        "rasa": f"{settings.rasa_base_url}/",
        "console": f"{console_url(settings)}/health",
    }


def gather(settings: Settings, check: Callable[[str], bool] = http_ok) -> Report:
    services = [Service(name, url, check(url)) for name, url in health_urls(settings).items()]
    report = Report(
        services=services,
        hub_queue=figures.count(settings.database_url, figures.HUB_QUEUE),
        pending_notices=figures.count(settings.database_url, figures.PENDING_NOTICES),
        outbox=figures.outbox_states(settings.data_dir),
        oldest_waiting=figures.oldest_waiting_record(settings.data_dir),
        dead_letters=figures.dead_letters(settings.channels_database_url),
        backup_age=last_backup_age(settings),
        free_bytes=free_bytes(settings.data_dir),
    )
    report.problems = problems(settings, report)
    return report


def _waiting_minutes(oldest: dt.datetime | None) -> float | None:
    if oldest is None:
        return None
    moment = oldest if oldest.tzinfo else oldest.replace(tzinfo=dt.timezone.utc)  # the outbox keeps naive UTC
    return (time.time() - moment.timestamp()) / 60


def problems(settings: Settings, report: Report) -> list[str]:
    """What needs a person, each as what it means and what to do."""
    found = []
    for service in report.services:
        if not service.up:
            found.append(
                f"The {DESCRIPTIONS.get(service.name, service.name)} is not answering ({service.health_url}). "
                "Start the assistant "
                f"(`systemctl start assistant` or `assistant up`); if it is running, read "
                f"{settings.data_dir / 'logs' / (service.name + '.log')}."
            )
    limit_hours = settings.status_backup_max_hours
    if report.backup_age is None:
        found.append(f"No backup has been made (none in {backup_dir(settings)}). Run `assistant backup` now.")
    elif report.backup_age > limit_hours * 3600:
        found.append(
            f"The last backup is {_age(report.backup_age)} old, more than {limit_hours:g} hours. "
            "Check that backups run, and run `assistant backup` now."
        )
    minimum = settings.status_min_free_mb * MB
    if report.free_bytes is not None and report.free_bytes < minimum:
        found.append(
            f"Only {_size(report.free_bytes)} of disk is free for {settings.data_dir} (below {_size(minimum)}). "
            "Free some space or add a disk before the databases cannot grow."
        )
    dead = sum((report.dead_letters or {}).values())
    if dead:
        found.append(
            f"{dead} WhatsApp/Twilio replies could not be delivered (dead letters). A supervisor should read "
            "them on the console's Deliveries page and reach those workers another way."
        )
    waited = _waiting_minutes(report.oldest_waiting)
    if waited is not None and waited > settings.status_outbox_max_minutes:
        waiting = sum((report.outbox or {}).get(state, 0) for state in figures.WAITING_STATES)
        found.append(
            f"{waiting} records have waited {waited:.0f} minutes to reach the hub, and the outbox is growing. "
            "Check the network to the hub and that the backend is answering."
        )
    return found


def _age(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 86400:.1f} days"


def _size(size: float) -> str:
    return f"{size / GB:.1f} GB" if size >= GB else f"{size / MB:.0f} MB"


def _figure(value: int | None) -> str:
    return "unknown" if value is None else str(value)


def render(settings: Settings, report: Report) -> str:
    outbox = report.outbox
    waiting = None if outbox is None else sum(outbox.get(state, 0) for state in figures.WAITING_STATES)
    dead = None if report.dead_letters is None else sum(report.dead_letters.values())
    lines = ["Services"]
    lines += [f"  {s.name:<9} {'up' if s.up else 'DOWN':<5} {s.health_url}" for s in report.services]
    lines += [
        "Queues",
        f"  consults waiting in the hub queue        {_figure(report.hub_queue)}",
        f"  hub notices not yet told to the worker   {_figure(report.pending_notices)}",
        f"  outbox records waiting for the hub       {_figure(waiting)}",
        f"  outbox records the hub rejected          {_figure(None if outbox is None else outbox.get('rejected', 0))}",
        f"  dead letters (WhatsApp/Twilio)           {_figure(dead)}",
        "Backup",
        f"  last backup   {'none' if report.backup_age is None else _age(report.backup_age) + ' ago'}"
        f"  (in {backup_dir(settings)})",
        "Disk",
        f"  free for the data dir   {'unknown' if report.free_bytes is None else _size(report.free_bytes)}"
        f"  ({settings.data_dir}; needs a person below {_size(settings.status_min_free_mb * MB)})",
    ]
    if report.problems:
        lines += ["", "Needs a person:"] + [f"  - {problem}" for problem in report.problems]
    else:
        lines += ["", "All well."]
    return "\n".join(lines)


def status(settings: Settings) -> tuple[str, int]:
    """The printed report and the exit code: 1 when something needs a person."""
    report = gather(settings)
    return render(settings, report), 1 if report.problems else 0
