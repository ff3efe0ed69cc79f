"""Fixtures for the online-storage tests: one real SeaweedFS for the session (seaweed.py), and
for each test its own prefix in the bucket, with the server's keys in the environment."""
from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "cli")]  # seaweed.py, and the CLI tests' helpers

from seaweed import KEY_ID, SECRET, Seaweed  # noqa: E402


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory):
    """The session's S3 server (started once, stopped by its process ID at the end)."""
    server = Seaweed(tmp_path_factory.mktemp("seaweed")).start()
    yield server
    server.stop()


@pytest.fixture
def s3_env(monkeypatch):
    """The server's keys in this test's environment (the way a scheduled run gets them)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("ODBACKUP_S3_RETRY_SECONDS", "3")
    for name in ("AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def prefix() -> str:
    """This test's own folder in the bucket."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def location(seaweed, s3_env, prefix) -> str:
    """``s3:http://127.0.0.1:PORT/odtest/t-...``: an empty place for this test's repository."""
    return seaweed.location(prefix)
