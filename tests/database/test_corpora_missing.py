"""Without the shared corpora a plain run skips the corpus tests, saying why; where they are
required (``.ci/run`` sets ODBACKUP_REQUIRE_CORPORA=1 and CI=true) it fails instead."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def corpus_tests_without_corpora(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess:
    """The smallest corpus test, run with the corpora looked for in a folder that does not exist."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "ODBACKUP_REQUIRE_CORPORA")}
    env.update(ODBACKUP_TEST_CORPORA=str(tmp_path / "no-corpora-here"), **extra)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                           "tests/database/test_corpora.py", "-k", "menagerie"], cwd=ROOT, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)


def test_a_plain_run_skips_them_and_says_why(tmp_path):
    cp = corpus_tests_without_corpora(tmp_path)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "1 skipped" in cp.stdout and "FileNotFoundError" not in cp.stdout
    assert f"the shared test corpora are not in {tmp_path / 'no-corpora-here'}" in cp.stdout


def test_where_they_are_required_their_absence_fails_the_run(tmp_path):
    for required in ({"ODBACKUP_REQUIRE_CORPORA": "1"}, {"CI": "true"}):
        cp = corpus_tests_without_corpora(tmp_path, **required)
        assert cp.returncode == 1, cp.stdout + cp.stderr
        assert "1 error" in cp.stdout and "skipped" not in cp.stdout
        assert "they are required here" in cp.stdout
