"""Fixtures for the end-to-end CLI tests; the helpers live in ``cli_helpers.py``."""
from __future__ import annotations

import shutil

import pytest
from cli_helpers import Repo, init_repo, shared_env


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory) -> Repo:
    """One empty repository made by ``odbackup init``, copied for each test that needs one
    (a copy costs milliseconds, an ``init`` a whole process start)."""
    base = tmp_path_factory.mktemp("template")
    return init_repo(base / "repo", base_env=shared_env(base / "home"))


@pytest.fixture
def repo(tmp_path, template_repo) -> Repo:
    """A fresh, empty repository of this test (passphrase ``PASSPHRASE``), used with the
    test's own isolated config and cache folders."""
    path = tmp_path / "repo"
    shutil.copytree(template_repo.path, path, symlinks=True)
    return Repo(path, template_repo.recovery_key, template_repo.repo_id)
