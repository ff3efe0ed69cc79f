"""Shared test setup: every test runs with isolated config/cache folders,
a weak (fast) key-derivation cost and small packs, so tests are fast and never
touch the developer's real configuration."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory, monkeypatch):
    base = tmp_path_factory.mktemp("odbackup-home")
    monkeypatch.setenv("ODBACKUP_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("ODBACKUP_CACHE_DIR", str(base / "cache"))
    monkeypatch.setenv("ODBACKUP_TEST_WEAK_KDF", "1")
    monkeypatch.setenv("ODBACKUP_TEST_PACK_SIZE", str(256 * 1024))
    monkeypatch.delenv("ODBACKUP_PASSPHRASE", raising=False)
    return base
