"""What a headless command loads before it starts working.

A scheduled backup starts a fresh process every time, and an unchanged re-run is mostly
that start: every module the parser or the command pulls in without needing it is paid
on every run (issue 17). These tests run ``odbackup backup`` in a subprocess that reports
``sys.modules`` at exit and name what must stay out.
"""
from __future__ import annotations

import json
import subprocess
import sys

from cli_helpers import ROOT, ok, run_cli, summary

from engine.jobs import JOBS
from engine.repository import locations, s3
from tui.cli import JOB_NAMES

# Runs the CLI in this process, then prints the loaded modules' names as the last line.
REPORT_MODULES = """
import json, sys
from tui.cli import main
code = main(sys.argv[1:])
print(json.dumps(sorted(sys.modules)))
sys.exit(code)
"""

NOT_FOR_A_FOLDER_BACKUP = (
    "textual", "rich",  # the app
    "tui.config_commands", "engine.settings", "engine.config_keys",  # the settings model
    "engine.jobs", "engine.jobsettings", "engine.schedule",  # the jobs and the schedulers
    "engine.repository.s3", "obstore",  # online storage, for a repository in a folder
)


def loaded_by(args: list, env: dict[str, str]) -> set[str]:
    cp = subprocess.run([sys.executable, "-c", REPORT_MODULES, *map(str, args)], cwd=ROOT, env=env,
                        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    ok(cp)
    return set(json.loads(cp.stdout.splitlines()[-1]))


def _offenders(modules: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in forbidden))


def test_an_unchanged_rerun_with_machine_credentials_loads_only_what_it_uses(repo, tmp_path):
    folder = tmp_path / "images"
    (folder / "A").mkdir(parents=True)
    (folder / "A" / "xray.jpg").write_bytes(b"x" * 300_000)
    ok(run_cli(["enroll", "--repo", repo.path], repo.env()))
    args = ["backup", "--repo", repo.path, "--path", folder, "--json"]
    assert summary(ok(run_cli(args, repo.env(None))))["files"] == 1  # the first backup reads the file

    modules = loaded_by(args, repo.env(None))  # the re-run, as a scheduled backup runs

    assert _offenders(modules, NOT_FOR_A_FOLDER_BACKUP) == []
    # Nothing is read, so nothing is chunked or sealed.
    assert _offenders(modules, ("engine.pipeline", "engine.chunker", "pyfastcdc")) == []
    assert "engine.backup" in modules  # (the report does see what the command used)


def test_the_parsers_job_names_are_the_jobs():
    assert JOB_NAMES == tuple(JOBS)


def test_locations_tells_a_bucket_from_a_folder_as_the_s3_backend_does():
    for text in ("s3:https://host/bucket/prefix", "  s3:http://127.0.0.1:8333/b", "/srv/backups",
                 "S3:https://host/b", "D:\\backups", "s3", ""):
        assert locations.is_s3_location(text) == s3.is_s3_location(text), text
