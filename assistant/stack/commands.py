"""``assistant up``, ``assistant chat`` and ``assistant train``."""

from __future__ import annotations

import argparse
import dataclasses
import logging
from typing import Any

from assistant.core.commands import CommandError
from assistant.core.config import ACTIONS_HOST, Settings

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    up = subparsers.add_parser("up", help="start the whole assistant (backend, actions, Rasa) in the foreground")
    _add_port_options(up)
    up.add_argument("--chat", action="store_true", help="also open a terminal chat (as --worker) once everything is up")
    up.add_argument("--worker", help="the registered worker --chat talks as, e.g. W001")
    up.add_argument(
        "--demo",
        action="store_true",
        help="the demo (what a data dir never initialised shows anyway); refused where `assistant init` ran",
    )
    up.set_defaults(handler=bring_up)

    chat = subparsers.add_parser("chat", help="chat in the terminal with a running assistant")
    chat.add_argument("--worker", required=True, help="the registered worker to chat as, e.g. W001")
    chat.add_argument("--url", help="Rasa server URL (default http://HOST:RASA_PORT)")
    chat.set_defaults(handler=chat_command)

    train = subparsers.add_parser("train", help="train the Rasa model if config or data changed")
    train.set_defaults(handler=train_command)


def _add_port_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", help="Rasa's listen address: web chat and webhooks (env ASSISTANT_HOST; 0.0.0.0 for the clinic LAN)"
    )
    parser.add_argument("--backend-port", type=int, help="env ASSISTANT_BACKEND_PORT (8700)")
    parser.add_argument("--actions-port", type=int, help="env ASSISTANT_ACTIONS_PORT (5055)")
    parser.add_argument("--rasa-port", type=int, help="env ASSISTANT_RASA_PORT (5005)")


def _with_flags(args: argparse.Namespace, settings: Settings) -> Settings:
    flags = {
        "host": args.host,
        "backend_port": args.backend_port,
        "actions_port": args.actions_port,
        "rasa_port": args.rasa_port,
    }
    return dataclasses.replace(settings, **{name: value for name, value in flags.items() if value is not None})


def train_command(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.stack.training import TrainingError, ensure_model

    try:
        print(ensure_model(settings))
    except TrainingError as exc:
        raise CommandError(str(exc)) from exc
    return 0


def chat_command(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.domain.api_tokens import command_worker_token
    from assistant.stack.chat import run_chat

    worker = args.worker.upper()
    run_chat(args.url or settings.rasa_base_url, worker, command_worker_token(settings, worker))
    return 0


def login_lines(settings: Settings, demo: bool) -> list[str]:
    """What ``assistant up`` says about signing in to the console: the demo's logins only with the demo."""
    from assistant.console.demo import DEMO_COORDINATOR, login_hint

    if demo:
        return [login_hint(settings), login_hint(settings, DEMO_COORDINATOR)]
    return ["  console   sign in with your own id and password (set one: assistant console password --worker ID)"]


def _summary(settings: Settings, supervisor: Any, demo: bool) -> str:
    from assistant.stack.channel_setup import summary_lines

    lines = ["", "The field assistant is up."]
    for spec in supervisor.specs:
        lines.append(f"  {spec.name:<9} {spec.url}")
    lines += [
        (
            f"  REST      {settings.rasa_base_url}/webhooks/rest/webhook  (a worker's own token: "
            "`assistant token create --role worker --worker ID`)"
        ),
        f"  Rasa API  {settings.rasa_base_url}/model/parse?token=...  (in {settings.data_dir}/secrets/rasa_token)",
        *summary_lines(settings),
        f"  API docs  {settings.backend_base_url}/openapi.json",
        *login_lines(settings, demo),
        f"  data      {settings.data_dir}  (logs in {settings.data_dir / 'logs'})",
        "Press Ctrl-C to stop everything.",
        "",
    ]
    return "\n".join(lines)


def _check_ports_free(settings: Settings) -> None:
    """Refuse at once, before any training, when another program holds a port we need.

    Otherwise a second ``make run`` would find the first one's services
    answering and report success while its own services restarted in a loop.
    """
    from assistant.stack.process import port_free

    wanted = {
        "backend": (settings.backend_host, settings.backend_port),
        "actions": (ACTIONS_HOST, settings.actions_port),
        "rasa": (settings.host, settings.rasa_port),
        "console": (settings.console_host, settings.console_port),
    }
    taken = [f"{name} port {host}:{port}" for name, (host, port) in wanted.items() if not port_free(host, port)]
    if taken:
        raise CommandError(
            f"{', '.join(taken)} already in use. Is the assistant already running? "
            "Stop it, or choose free ports (--backend-port, --actions-port, --rasa-port, or ASSISTANT_*_PORT)."
        )


def bring_up(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.core.private_files import lock_down
    from assistant.core.secrets import rasa_token
    from assistant.domain.api_tokens import command_worker_token
    from assistant.stack.chat import run_chat
    from assistant.stack.log_files import LogRotation
    from assistant.stack.programme_setup import shows_demo
    from assistant.stack.services import stack_services
    from assistant.stack.shutdown import run_in_foreground, say
    from assistant.stack.supervisor import Supervisor
    from assistant.stack.tokens import service_token
    from assistant.stack.training import TrainingError, ensure_model, model_path, prune_models

    settings = _with_flags(args, settings)
    if args.chat and not args.worker:
        raise CommandError("--chat needs --worker ID: the registered worker the chat talks as (e.g. W001)")
    lock_down(settings.data_dir)
    demo = shows_demo(settings, args.demo)  # refuses --demo on a real programme's data dir, before anything starts
    _check_ports_free(settings)
    if not model_path(settings).is_file():
        say("Training the assistant's language model (first run or changed data: a few minutes)...")
    try:
        model = ensure_model(settings)
    except TrainingError as exc:
        raise CommandError(str(exc)) from exc
    prune_models(settings, keep=model)

    api_token = rasa_token(settings)
    supervisor = Supervisor(
        stack_services(settings, model, service_token(settings), api_token, demo=demo),
        settings.data_dir / "logs",
        LogRotation.from_settings(settings),
    )

    def open_chat() -> None:
        """The terminal chat, once everything is up (the worker's token needs the backend's database)."""
        worker = args.worker.upper()
        run_chat(settings.rasa_base_url, worker, command_worker_token(settings, worker))

    try:
        run_in_foreground(
            supervisor,
            "Starting backend, action server and Rasa...",
            lambda: _summary(settings, supervisor, demo),
            open_chat if args.chat else None,
        )
    except (RuntimeError, TimeoutError) as exc:  # a service did not start (the others are stopped)
        raise CommandError(str(exc)) from exc
    return 0
