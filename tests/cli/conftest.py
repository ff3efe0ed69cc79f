"""Fixtures for the end-to-end CLI tests; the helpers live in ``cli_helpers.py``."""
from __future__ import annotations

import pytest
from cli_helpers import Repo, init_repo


@pytest.fixture
def repo(tmp_path) -> Repo:
    """A fresh repository made by ``odbackup init`` (passphrase ``PASSPHRASE``)."""
    return init_repo(tmp_path / "repo")
