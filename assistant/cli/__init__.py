"""The ``assistant`` command.

Each feature contributes its sub-commands from its own module through a
``register(subparsers)`` function. Modules are imported lazily by name so a
quick command (``assistant token create``) never pays for loading Rasa or
TensorFlow; keep heavy imports inside the command handlers.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from assistant.core import log_safety
from assistant.core.commands import CommandError
from assistant.core.config import load_settings
from assistant.core.private_files import private_umask

# Modules that add sub-commands. Each defines ``register(subparsers)``.
COMMAND_MODULES: tuple[str, ...] = (
    "assistant.backend.commands",
    "assistant.stack.commands",
    "assistant.stack.programme_setup",
    "assistant.stack.operations_commands",
    "assistant.stack.migration_commands",
    "assistant.console.commands",
    "assistant.backend.worker_commands",
    "assistant.backend.onboarding_commands",
    "assistant.operations.commands",
    "voice.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Hands-free field assistant for district health workers.",
    )
    parser.add_argument("--data-dir", help="directory for databases, models and secrets (env ASSISTANT_DATA_DIR)")
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING (env ASSISTANT_LOG_LEVEL)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = load_settings(data_dir=args.data_dir, log_level=args.log_level)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    log_safety.install()
    private_umask()  # databases, logs and secrets are created readable by their owner only
    try:
        return int(args.handler(args, settings) or 0)
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
