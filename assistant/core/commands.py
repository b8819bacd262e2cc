"""What every feature's sub-commands share with the ``assistant`` command (``assistant.cli``)."""

from __future__ import annotations

import argparse


class CommandError(Exception):
    """A failure the user can fix; printed without a traceback."""


def command_group(subparsers: argparse._SubParsersAction, name: str, help: str) -> argparse._SubParsersAction:
    """Sub-commands under a shared verb (``assistant serve backend``), shareable across modules.

    The groups are kept on the parser they belong to: a parser built again
    (the command run twice in one process) gets groups of its own, never the
    ones of an earlier parser that happened to live at the same address.
    """
    groups: dict[str, argparse._SubParsersAction] = getattr(subparsers, "_assistant_groups", {})
    if name not in groups:
        parser = subparsers.add_parser(name, help=help)
        groups[name] = parser.add_subparsers(dest=f"{name}_target", metavar="TARGET", required=True)
        setattr(subparsers, "_assistant_groups", groups)  # noqa: B010 - argparse's object has no such field
    return groups[name]


def operating_system_user() -> str:
    """Who runs this command, as the machine knows them: what an import's audit entries name as the actor."""
    import getpass
    import os

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return f"uid {os.getuid()}"
