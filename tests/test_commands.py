"""The ``assistant`` command's parser, built more than once in one process (as the tests run it in-process)."""

from __future__ import annotations

import argparse

from assistant.cli import build_parser
from assistant.core.commands import command_group


def test_a_parser_built_again_has_every_command_group() -> None:
    for _ in range(3):
        parser = build_parser()
        for command in (["token", "list"], ["worker", "list"], ["serve", "backend"], ["console", "purge"]):
            assert parser.parse_args(command).command == command[0]


def test_a_group_belongs_to_its_own_parser_even_at_a_reused_address() -> None:
    """Groups were once remembered by their parser's address, which a later parser may be given."""
    for _ in range(200):
        parser = argparse.ArgumentParser()
        commands = parser.add_subparsers(dest="command")
        command_group(commands, "token", "tokens").add_parser("list")
        assert parser.parse_args(["token", "list"]).command == "token"
        del parser, commands  # freed: the next parser's objects may take their place
