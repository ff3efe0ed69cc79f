"""A closed output (``odbackup snapshots | head -1``) ends the command quietly.

The reader of the output going away is not the drive's fault and not a bug: the
command stops where it is, says nothing on stderr and exits 141 (128 + SIGPIPE,
what other command-line tools stopped by a closed pipe report), docs/CLI.md.
"""
from __future__ import annotations

import os
import subprocess

import pytest
from cli_helpers import ROOT, cli_command, ok, run_cli

EXIT_OUTPUT_CLOSED = 141


def run_into_closed_pipe(args: list, env: dict[str, str]) -> tuple[int, str]:
    """Run the command with stdout a pipe whose reader is already gone; (exit code, stderr)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        cp = subprocess.run(cli_command(args), cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=write_end,
                            stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    return cp.returncode, cp.stderr


def run_and_close_after_one_line(args: list, env: dict[str, str]) -> tuple[str, int, str]:
    """``odbackup ARGS | head -1``: read one line, close the pipe; (that line, exit code, stderr)."""
    proc = subprocess.Popen(cli_command(args), cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline().decode()
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    return first, proc.wait(timeout=120), stderr


@pytest.fixture(scope="module")
def many_files(tmp_path_factory):
    """A repository with a snapshot of 2,000 files: ``ls`` prints far more than a pipe holds,
    so the command is still writing when the reader goes away."""
    from cli_helpers import init_repo, shared_env

    base = tmp_path_factory.mktemp("closed-output")
    repo = init_repo(base / "repo", base_env=shared_env(base / "home"))
    office = base / "Office"
    for i in range(2000):
        folder = office / f"Patient{i // 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"chart-{i:05d}.txt").write_text(f"chart {i}\n")
    repo.backup(office)
    return repo


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_snapshots_into_a_closed_pipe_ends_quietly(many_files, as_json):
    repo = many_files
    args = ["snapshots", "--repo", repo.path] + (["--json"] if as_json else [])
    code, stderr = run_into_closed_pipe(args, repo.env())
    assert (code, stderr) == (EXIT_OUTPUT_CLOSED, "")


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_ls_piped_into_head_ends_quietly(many_files, as_json):
    repo = many_files
    args = ["ls", "--repo", repo.path, "latest"] + (["--json"] if as_json else [])
    first, code, stderr = run_and_close_after_one_line(args, repo.env())
    assert "Office" in first
    assert (code, stderr) == (EXIT_OUTPUT_CLOSED, "")


def test_an_open_output_still_gets_everything(many_files):
    """The same command with a reader that stays: all 2,000 files and exit 0."""
    repo = many_files
    cp = ok(run_cli(["ls", "--repo", repo.path, "latest"], repo.env()))
    assert sum(".txt" in line for line in cp.stdout.splitlines()) == 2000



def test_backup_into_a_closed_pipe_stops_and_leaves_the_repository_valid(tmp_path, repo):
    """A backup whose output closes stops as on Ctrl+C: no snapshot, no lock left behind,
    and the next backup works."""
    office = tmp_path / "Office"
    office.mkdir()
    (office / "chart.txt").write_text("chart\n")
    args = ["backup", "--repo", repo.path, "--path", office, "--json"]
    assert run_into_closed_pipe(args, repo.env()) == (EXIT_OUTPUT_CLOSED, "")
    assert not any((repo.path / "snapshots").iterdir())
    assert not (repo.path / "locks" / "exclusive").exists()
    assert repo.backup(office)["complete"] is True
