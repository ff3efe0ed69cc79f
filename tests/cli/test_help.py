"""``--help`` stands on its own: an installed copy has no docs/ folder to send anyone to."""
from __future__ import annotations

import re

import pytest
from cli_helpers import ROOT, ok, run_cli

from tui.cli import build_parser

COMMANDS = sorted(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


def documented_exit_codes() -> dict[str, str]:
    """The exit-code table of docs/CLI.md: code -> meaning."""
    text = (ROOT / "docs" / "CLI.md").read_text()
    table = text.split("## Exit codes", 1)[1]
    return dict(re.findall(r"^\| (\d+) \| (.+?) \|", table, flags=re.M))


def description(help_text: str) -> str:
    """The paragraph(s) between the usage lines and the first option heading."""
    body = help_text.split("\n\n", 1)[1]
    return re.split(r"^(?:options|positional arguments):", body, flags=re.M)[0].strip()


def test_main_help_lists_every_exit_code_and_no_missing_document():
    text = ok(run_cli(["--help"])).stdout
    assert "docs/" not in text
    codes = documented_exit_codes()
    assert {"0", "1", "2", "130", "141"} <= set(codes)
    listed = dict(re.findall(r"^\s+(\d+)\s+(\S.*)$", text.split("Exit codes:", 1)[1], flags=re.M))
    assert set(listed) == set(codes)
    for name in COMMANDS:
        assert re.search(rf"^\s+{re.escape(name)}\s", text, flags=re.M), name


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_help_describes_it(command):
    text = ok(run_cli([command, "--help"])).stdout
    assert "docs/" not in text
    words = description(text)
    # more than its one-line summary in the command list: what it does, what it needs
    assert len(re.findall(r"[.:]\s", words + " ")) >= 2, words
