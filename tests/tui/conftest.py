"""Fixtures of the app's tests: isolated log, report and data folders (on top of the root
conftest's config and cache folders), a repository, an images folder, saved settings, and
unique databases on the real MariaDB (``odbt_<hex>_...``, dropped afterwards)."""
from __future__ import annotations

import asyncio
import inspect
import os
import secrets
import time

import pytest
from tuihelpers import PASSPHRASE, admin_conn, make_images, make_small_database

from engine.repository import keys as keymod
from engine.repository.repo import Repository
from engine.settings import DatabaseSettings, Settings, save_settings


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run ``async def`` tests (App.run_test needs a loop) without an extra plugin."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(pyfuncitem.obj(**args))
    return True


@pytest.fixture(autouse=True)
def app_env(isolated_env, monkeypatch):
    monkeypatch.setenv("ODBACKUP_LOG_DIR", str(isolated_env / "logs"))
    monkeypatch.setenv("ODBACKUP_REPORTS_DIR", str(isolated_env / "reports"))
    monkeypatch.setenv("XDG_DATA_HOME", str(isolated_env / "data"))
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("ODBACKUP_DB_PASSWORD", raising=False)
    time.tzset()
    return isolated_env


@pytest.fixture
def repo_path(tmp_path) -> str:
    """A new, empty repository (passphrase ``PASSPHRASE``); this machine is not enrolled."""
    path = str(tmp_path / "repo")
    Repository.init(path, PASSPHRASE)
    return path


@pytest.fixture
def enrolled(repo_path) -> str:
    """The repository, with this machine enrolled (write-only credentials)."""
    repo = Repository.open(repo_path)
    repo.unlock(PASSPHRASE)
    keymod.enroll_machine(repo.keys, repo.location)
    return repo_path


@pytest.fixture
def images(tmp_path) -> str:
    return make_images(str(tmp_path / "OpenDentImages"))


@pytest.fixture
def folder_settings(enrolled, images) -> Settings:
    """Saved settings: the images folder only, into the enrolled repository."""
    settings = Settings(repository=enrolled, images_folder=images)
    save_settings(settings)
    return settings


@pytest.fixture
def saved(folder_settings):
    """The folders-only settings, saved (the app starts on the dashboard)."""
    save_settings(folder_settings)
    return folder_settings


@pytest.fixture
def fresh_db():
    """Factory of unique database names; every one handed out is dropped afterwards."""
    names: list[str] = []
    tag = secrets.token_hex(4)

    def make(label: str = "db") -> str:
        name = f"odbt_{tag}_{label}"[:64]
        names.append(name)
        return name

    yield make
    conn = admin_conn()
    with conn.cursor() as cur:
        for name in names:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.execute("SHOW DATABASES LIKE 'odbackup\\_verify\\_%%'")
        left = [r[0] for r in cur.fetchall() if any(n[5:] in r[0] for n in names)]
    conn.close()
    assert not left, f"verify scratch databases were left behind: {left}"


@pytest.fixture
def small_db(fresh_db) -> str:
    """A small MyISAM + InnoDB database."""
    name = fresh_db("practice")
    make_small_database(name)
    return name


@pytest.fixture
def db_settings(enrolled, images, small_db) -> Settings:
    """Saved settings: the small database and the images folder."""
    settings = Settings(repository=enrolled, images_folder=images,
                        database=DatabaseSettings(name=small_db, lock_timeout=5.0))
    save_settings(settings)
    return settings


@pytest.fixture(autouse=True)
def _no_real_home(monkeypatch, isolated_env):
    """The option files of the machine (~/.my.cnf) must not feed tests a password."""
    monkeypatch.setenv("HOME", str(isolated_env / "home"))
    os.makedirs(isolated_env / "home", exist_ok=True)
