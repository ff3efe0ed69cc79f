"""A broken install (the terminal app's Textual missing or unimportable) fails loudly.

Played by a ``PYTHONPATH`` shim whose ``textual`` package raises ``ImportError`` on import,
as a half-installed or mismatched Textual does.
"""
from __future__ import annotations

from pathlib import Path

from cli_helpers import cli_env, run_cli


def _broken_textual(tmp_path: Path) -> dict[str, str]:
    shim = tmp_path / "shim" / "textual"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text('raise ImportError("textual is broken in this install (test shim)")\n')
    return cli_env(PYTHONPATH=str(shim.parent))


def test_the_app_with_a_broken_textual_says_so_and_fails(tmp_path):
    proc = run_cli([], _broken_textual(tmp_path))
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "could not start" in proc.stderr
    assert "textual is broken in this install" in proc.stderr  # the cause, named
    assert "Reinstall" in proc.stderr
    assert "usage:" not in proc.stdout  # not help text, as if nothing were wrong


def test_the_commands_still_work_with_a_broken_textual(tmp_path):
    proc = run_cli(["snapshots", "--repo", tmp_path / "nowhere"], _broken_textual(tmp_path))
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "textual" not in proc.stderr.lower()
    assert "nowhere" in proc.stderr
