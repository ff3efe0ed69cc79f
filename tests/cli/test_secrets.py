"""Passphrase, recovery key, write-only machine credentials, and what the repository reveals."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from cli_helpers import (
    PASSPHRASE,
    cli_env,
    describe_tree,
    events,
    explain,
    init_repo,
    json_lines,
    ok,
    read_all_files,
    run_cli,
    shared_env,
)

from engine import crypto
from engine.errors import NeedsFullKey, RepositoryDamaged
from engine.recovery import ALPHABET
from engine.repository import keys as keymod
from engine.repository.lock import RepoLock
from engine.repository.repo import Repository

WRONG = "wrong-passphrase-Zq7Xk9"
NEW = "a brand new passphrase 2026"


def make_source(root: Path) -> Path:
    (root / "Charts").mkdir(parents=True)
    (root / "Charts" / "chart.txt").write_text("chart\n")
    (root / "scan.bin").write_bytes(os.urandom(700_000))
    return root


@pytest.fixture
def backed_up(tmp_path, repo):
    """A fresh repository with one snapshot of ``Office`` (for tests that change keys)."""
    source = make_source(tmp_path / "Office")
    repo.backup(source)
    return repo, source


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """Like ``backed_up``, shared by the tests that only read."""
    base = tmp_path_factory.mktemp("secrets")
    repo = init_repo(base / "repo", base_env=shared_env(base / "home"))
    source = make_source(base / "Office")
    repo.backup(source)
    return repo, source


def restores_identically(repo, source: Path, target: Path, env: dict) -> None:
    ok(repo.restore(target, env=env))
    assert describe_tree(target / source.name) == describe_tree(source)


def assert_clean_failure(cp, code: int, secret: str) -> None:
    assert cp.returncode == code, explain(cp)
    both = cp.stdout + cp.stderr
    assert "Traceback" not in both
    assert secret not in both


# --- no plaintext in the repository or on this machine --------------------------------------

MARKER = "PATIENT-MARKER-8f3a1c"
FOLDER = "SmithJohnDistinctive1234"
FILES = ("ChartNotesDistinctive5678.txt", "PaddedScanDistinctive9012.bin")


def needles(*texts: str) -> list[bytes]:
    return [t.encode(enc) for t in texts for enc in ("utf-8", "utf-16-le")]


def assert_not_found(files: dict[str, bytes], texts: tuple[str, ...]) -> None:
    assert files, "nothing to search"
    for name, data in files.items():
        for needle in needles(*texts):
            assert needle not in data, f"{needle!r} found in {name}"


def test_no_plaintext_in_repository_credentials_or_cache(tmp_path, repo):
    patient = tmp_path / "Images" / FOLDER
    patient.mkdir(parents=True)
    (patient / FILES[0]).write_text((MARKER + " note\n") * 5000)  # very compressible
    (patient / FILES[1]).write_bytes(os.urandom(300_000) + MARKER.encode() + os.urandom(300_000))
    ok(run_cli(["enroll", "--repo", repo.path]))
    repo.backup(tmp_path / "Images", env=cli_env(None))  # with machine credentials
    repo.backup(tmp_path / "Images")  # and with the passphrase
    # Hold the lock while searching, so a lock file is searched too.
    opened = Repository.open(str(repo.path))
    opened.unlock(PASSPHRASE)
    lock, _ = RepoLock.acquire(opened.backend, opened.keys.maint_key, "backup")
    try:
        files = repo.files()
        assert "locks/exclusive" in files and "config" in files
        assert any(n.startswith("keys/") for n in files) and any(n.startswith("data/") for n in files)
        assert any(n.startswith("index/") for n in files) and any(n.startswith("snapshots/") for n in files)
        assert_not_found(files, (MARKER, FOLDER, *FILES))
    finally:
        lock.release()
    config_files = read_all_files(Path(os.environ["ODBACKUP_CONFIG_DIR"]))
    cache_files = read_all_files(Path(os.environ["ODBACKUP_CACHE_DIR"]))
    assert any(n.startswith("credentials/") for n in config_files)
    assert any(n.endswith("files.sqlite") for n in cache_files)
    assert_not_found(config_files | {f"cache/{n}": b for n, b in cache_files.items()}, (MARKER, FOLDER, *FILES))


# --- wrong passphrase --------------------------------------------------------------------


@pytest.mark.parametrize("command", ["ls", "restore", "backup", "check-read-data"])
def test_wrong_passphrase_exits_4_without_traceback(tmp_path, shared, command):
    repo, source = shared
    target = tmp_path / "restored"
    args = {
        "ls": ["ls", "--repo", repo.path, "latest"],
        "restore": ["restore", "--repo", repo.path, "latest", "--to", target],
        "backup": ["backup", "--repo", repo.path, "--path", source],
        "check-read-data": ["check", "--repo", repo.path, "--read-data"],
    }[command]
    cp = repo.run(args, WRONG)
    assert_clean_failure(cp, 4, WRONG)
    assert "passphrase" in cp.stderr.lower()
    assert not target.exists()


def test_enroll_with_wrong_passphrase_stores_nothing(shared):
    repo, _ = shared
    assert_clean_failure(repo.run(["enroll", "--repo", repo.path], WRONG), 4, WRONG)
    assert not (Path(repo.base_env["ODBACKUP_CONFIG_DIR"]) / "credentials" / f"{repo.repo_id}.json").exists()


def test_wrong_passphrase_json_error_line(shared):
    repo, _ = shared
    cp = repo.run(["ls", "--repo", repo.path, "latest", "--json"], WRONG)
    assert_clean_failure(cp, 4, WRONG)
    errors = [d for d in json_lines(cp.stdout) if d["event"] == "error"]
    assert errors and errors[0]["exit_code"] == 4


# --- recovery key and passwd -------------------------------------------------------------


def one_char_changed(key: str) -> str:
    """The recovery key with one secret character replaced by a different symbol."""
    i = len("RK-") + 2
    replacement = next(c for c in ALPHABET if c != key[i])
    return key[:i] + replacement + key[i + 1 :]


def test_recovery_key_unlocks_restore(tmp_path, shared):
    repo, source = shared
    assert repo.recovery_key.startswith("RK-")
    restores_identically(repo, source, tmp_path / "restored", repo.env(repo.recovery_key))


def test_recovery_key_is_forgiving_about_case_and_dashes(shared):
    repo, _ = shared
    sloppy = repo.recovery_key.lower().replace("-", " ").replace("rk ", "rk-", 1)
    ok(repo.run(["ls", "--repo", repo.path, "latest"], sloppy))


def test_recovery_key_with_a_typo_exits_4(tmp_path, shared):
    repo, _ = shared
    typo = one_char_changed(repo.recovery_key)
    assert typo != repo.recovery_key
    cp = repo.run(["restore", "--repo", repo.path, "latest", "--to", tmp_path / "restored"], typo)
    assert_clean_failure(cp, 4, typo)
    assert not (tmp_path / "restored").exists()


def data_files(repo) -> dict[str, str]:
    return {name: crypto.content_hash(data).hex() for name, data in repo.files("data").items()}


def test_passwd_replaces_passphrase_only(tmp_path, backed_up):
    repo, source = backed_up
    packs = data_files(repo)
    keys_before = set(repo.files("keys"))
    ok(run_cli(["passwd", "--repo", repo.path], cli_env(PASSPHRASE, ODBACKUP_NEW_PASSPHRASE=NEW)))
    ls = ["ls", "--repo", repo.path, "latest"]
    assert_clean_failure(run_cli(ls, cli_env(PASSPHRASE)), 4, PASSPHRASE)
    restores_identically(repo, source, tmp_path / "by-recovery", cli_env(repo.recovery_key))
    restores_identically(repo, source, tmp_path / "by-new", cli_env(NEW))
    assert data_files(repo) == packs  # no data was re-encrypted
    keys_after = set(repo.files("keys"))
    assert len(keys_after) == len(keys_before) == 2  # one passphrase file, one recovery file
    assert len(keys_after & keys_before) == 1  # the recovery key file is unchanged


def test_passwd_with_recovery_key_as_old_secret(backed_up):
    repo, _ = backed_up
    ok(run_cli(["passwd", "--repo", repo.path], cli_env(repo.recovery_key, ODBACKUP_NEW_PASSPHRASE=NEW)))
    ok(run_cli(["ls", "--repo", repo.path, "latest"], cli_env(NEW)))
    assert run_cli(["ls", "--repo", repo.path, "latest"], cli_env(PASSPHRASE)).returncode == 4


def test_passwd_refuses_short_new_passphrase(repo):
    keys_before = repo.files("keys")
    cp = run_cli(["passwd", "--repo", repo.path], cli_env(PASSPHRASE, ODBACKUP_NEW_PASSPHRASE="short"))
    assert cp.returncode == 2, explain(cp)
    assert repo.files("keys") == keys_before  # unchanged


# --- write-only machine credentials ---------------------------------------------------


@pytest.fixture(scope="module")
def enrolled(tmp_path_factory):
    """A repository this machine is enrolled for, with one backup made without the passphrase
    (stdin is never a terminal here, so nothing can be prompted for)."""
    base = tmp_path_factory.mktemp("enrolled")
    repo = init_repo(base / "repo", base_env=shared_env(base / "home"))
    source = make_source(base / "Office")
    cp = repo.run(["backup", "--repo", repo.path, "--path", source], None)
    assert cp.returncode == 4, "backup without passphrase before enrolling\n" + explain(cp)
    ok(repo.run(["enroll", "--repo", repo.path]))
    doc = repo.backup(source, env=repo.env(None))
    return repo, source, doc


@pytest.fixture
def enrolled_here(enrolled, monkeypatch):
    """``enrolled``, with this process's config folder pointing at its credentials."""
    repo = enrolled[0]
    monkeypatch.setenv("ODBACKUP_CONFIG_DIR", repo.base_env["ODBACKUP_CONFIG_DIR"])
    return enrolled


def test_backup_and_snapshots_work_without_passphrase(enrolled):
    repo, source, doc = enrolled
    assert doc["complete"] is True and doc["files"] == 2
    cp = ok(repo.run(["snapshots", "--repo", repo.path, "--json"], None))
    snaps = events(cp, "snapshot")
    assert [s["id"] for s in snaps] == [doc["snapshot_id"]]
    assert snaps[0]["sources"] is None  # folder names need the passphrase, and the line says so
    assert "write-only" in snaps[0]["sources_hidden"] and "passphrase" in snaps[0]["sources_hidden"]
    with_passphrase = events(ok(repo.run(["snapshots", "--repo", repo.path, "--json"])), "snapshot")
    assert with_passphrase[0]["sources"] == [str(source)] and with_passphrase[0]["sources_hidden"] is None
    ok(repo.run(["check", "--repo", repo.path], None))


@pytest.mark.parametrize("command", ["ls", "restore", "check-read-data"])
def test_reading_without_passphrase_exits_4(tmp_path, enrolled, command):
    repo, _, _ = enrolled
    target = tmp_path / "restored"
    args = {
        "ls": ["ls", "--repo", repo.path, "latest"],
        "restore": ["restore", "--repo", repo.path, "latest", "--to", target],
        "check-read-data": ["check", "--repo", repo.path, "--read-data"],
    }[command]
    cp = repo.run(args, None)
    assert cp.returncode == 4, explain(cp)
    assert "Traceback" not in cp.stderr
    assert not target.exists()


def test_backup_made_with_machine_credentials_restores(tmp_path, enrolled):
    repo, source, _ = enrolled
    restores_identically(repo, source, tmp_path / "restored", repo.env(PASSPHRASE))
    ok(repo.run(["check", "--repo", repo.path, "--read-data"], PASSPHRASE))


def test_credentials_file_is_private_and_write_only(enrolled_here):
    repo, _, _ = enrolled_here
    path = Path(keymod.credentials_path(repo.repo_id))
    assert str(path).startswith(os.environ["ODBACKUP_CONFIG_DIR"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = json.loads(path.read_text())
    assert "data_private" not in doc
    assert doc["repo_id"] == repo.repo_id


def test_machine_credentials_cannot_read_anything_back(enrolled_here):
    repo, _, doc = enrolled_here
    keys = keymod.load_machine_credentials(repo.repo_id)
    assert keys.data_private is None and not keys.can_read
    opened = Repository.open(str(repo.path))
    opened.use_machine_credentials()
    with pytest.raises(NeedsFullKey):
        opened.require_full_key()
    (snap,) = opened.snapshots()
    assert snap.snapshot_id == doc["snapshot_id"]
    assert snap.body is None  # listing works, the body (folder names) stays sealed
    # Reference lists (maintenance key) are readable: walk them to every tree and data blob.
    tried = {"tree": 0, "data": 0}
    todo, seen = [snap.refs], set()
    while todo:
        refs_id = todo.pop()
        if refs_id in seen:
            continue
        seen.add(refs_id)
        data = opened.read_blob(refs_id)
        for off in range(0, len(data), crypto.ID_SIZE):
            blob_id = data[off : off + crypto.ID_SIZE]
            kind = opened.index.get(blob_id).blob_type
            if kind == "refs":
                todo.append(blob_id)
                continue
            with pytest.raises((RepositoryDamaged, NeedsFullKey)):
                opened.read_blob(blob_id)
            tried[kind] += 1
    assert tried["tree"] >= 2 and tried["data"] >= 2, tried


@pytest.mark.parametrize("command", ["backup", "snapshots"])
def test_a_wrong_passphrase_is_not_replaced_by_machine_credentials(enrolled, command):
    """ODBACKUP_PASSPHRASE comes first (engine/credentials.py): set but wrong, it fails (exit 4)
    even where the machine's write-only credentials alone would have done."""
    repo, source, _ = enrolled
    args = {"backup": ["backup", "--repo", repo.path, "--path", source],
            "snapshots": ["snapshots", "--repo", repo.path]}[command]
    assert_clean_failure(repo.run(args, WRONG), 4, WRONG)
    # without it, the machine credentials do (listing only: the module's repository keeps one snapshot)
    ok(repo.run(["snapshots", "--repo", repo.path], None))
