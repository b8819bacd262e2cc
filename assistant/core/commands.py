"""What every feature's sub-commands share with the ``assistant`` command (``assistant.cli``)."""

from __future__ import annotations

import argparse


class CommandError(Exception):
    """A failure the user can fix; printed without a traceback."""


_GROUPS: dict[tuple[int, str], argparse._SubParsersAction] = {}


def command_group(subparsers: argparse._SubParsersAction, name: str, help: str) -> argparse._SubParsersAction:
    """Sub-commands under a shared verb (``assistant serve backend``), shareable across modules."""
    key = (id(subparsers), name)
    if key not in _GROUPS:
        parser = subparsers.add_parser(name, help=help)
        _GROUPS[key] = parser.add_subparsers(dest=f"{name}_target", metavar="TARGET", required=True)
    return _GROUPS[key]
