"""Exit codes for bad arguments, missing folders, non-repositories and incomplete backups."""
from __future__ import annotations

import os

import pytest
from cli_helpers import cli_env, events, explain, ok, run_cli, summary


def assert_fails(cp, code: int | None = None) -> None:
    if code is None:
        assert cp.returncode != 0, explain(cp)
    else:
        assert cp.returncode == code, explain(cp)
    assert "Traceback" not in cp.stderr + cp.stdout


# --- bad arguments (exit 2) ----------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["backup"],                                                    # no --repo
    ["restore", "--repo", "R", "latest"],                          # no --to
    ["restore", "--repo", "R", "latest", "--to", "D", "--bogus"],  # unknown option
])
def test_usage_errors_exit_2(args):
    assert_fails(run_cli(args), 2)


def test_backup_without_path_exits_2(repo):
    cp = run_cli(["backup", "--repo", repo.path])
    assert_fails(cp, 2)
    assert "--path" in cp.stderr
    assert not any((repo.path / "snapshots").iterdir())


def test_init_needs_a_passphrase(tmp_path):
    assert_fails(run_cli(["init", tmp_path / "r1"], cli_env(None)), 2)  # no env, no terminal
    assert_fails(run_cli(["init", tmp_path / "r2"], cli_env("short")), 2)
    assert not (tmp_path / "r1" / "config").exists() and not (tmp_path / "r2" / "config").exists()


# --- folders that are not what they should be -----------------------------------------------


def test_backup_of_missing_folder_fails_clearly(tmp_path, repo):
    missing = tmp_path / "NoSuchFolder"
    cp = run_cli(["backup", "--repo", repo.path, "--path", missing])
    assert_fails(cp)
    assert str(missing) in cp.stderr and "does not exist" in cp.stderr
    assert not any((repo.path / "snapshots").iterdir())
    assert not (repo.path / "locks" / "exclusive").exists()


def test_backup_of_a_file_instead_of_folder_fails(tmp_path, repo):
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    cp = run_cli(["backup", "--repo", repo.path, "--path", afile])
    assert_fails(cp)
    assert str(afile) in cp.stderr


def test_folder_that_is_not_a_repository(tmp_path):
    plain = tmp_path / "JustAFolder"
    plain.mkdir()
    (plain / "something.txt").write_text("x")
    cp = run_cli(["backup", "--repo", plain, "--path", tmp_path])
    assert_fails(cp, 1)
    assert "no odbackup repository" in cp.stderr.lower()
    assert sorted(os.listdir(plain)) == ["something.txt"]  # nothing was created there


def test_missing_repository_folder_is_not_created(tmp_path):
    missing = tmp_path / "UnpluggedDrive" / "odbackup"
    cp = run_cli(["snapshots", "--repo", missing])
    assert_fails(cp, 1)
    assert "no odbackup repository" in cp.stderr.lower()
    assert not (tmp_path / "UnpluggedDrive").exists()


def test_init_refuses_non_empty_folder(tmp_path):
    folder = tmp_path / "Busy"
    folder.mkdir()
    (folder / "keep.txt").write_text("keep")
    assert_fails(run_cli(["init", folder]), 1)
    assert sorted(os.listdir(folder)) == ["keep.txt"]


def test_init_refuses_existing_repository(repo):
    keys_before = sorted(os.listdir(repo.path / "keys"))
    assert_fails(run_cli(["init", repo.path]), 1)
    assert sorted(os.listdir(repo.path / "keys")) == keys_before


def test_unknown_snapshot(repo):
    for ref in ("abc", "latest"):  # too short a prefix; the repository has no snapshots
        cp = run_cli(["ls", "--repo", repo.path, ref])
        assert_fails(cp, 1)
        assert "snapshot" in cp.stderr.lower()


# --- incomplete backups (exit 3) -----------------------------------------------------------


@pytest.fixture
def with_pipe(tmp_path):
    """A folder with a normal file and a named pipe (which cannot be backed up)."""
    folder = tmp_path / "Images"
    folder.mkdir()
    (folder / "ok.txt").write_text("fine\n")
    os.mkfifo(folder / "pipe")
    return folder


def test_unreadable_entry_makes_snapshot_incomplete(repo, with_pipe):
    cp = run_cli(["backup", "--repo", repo.path, "--path", with_pipe, "--json"], timeout=60)
    assert cp.returncode == 3, explain(cp)
    skipped = events(cp, "file_skipped")
    assert [e["path"] for e in skipped] == [str(with_pipe / "pipe")]
    doc = summary(cp)
    assert doc["complete"] is False
    assert [p for p, _ in doc["skipped"]] == [str(with_pipe / "pipe")]
    snaps = events(ok(run_cli(["snapshots", "--repo", repo.path, "--json"])), "snapshot")
    assert [s["complete"] for s in snaps] == [False]
    assert snaps[0]["id"] == doc["snapshot_id"]


def test_incomplete_backup_text_names_the_file(tmp_path, repo, with_pipe):
    cp = run_cli(["backup", "--repo", repo.path, "--path", with_pipe], timeout=60)
    assert cp.returncode == 3, explain(cp)
    assert str(with_pipe / "pipe") in cp.stderr
    assert "INCOMPLETE" in cp.stdout + cp.stderr
    # What could be read is in the snapshot and restores.
    ok(run_cli(["restore", "--repo", repo.path, "latest", "--to", tmp_path / "restored"]))
    assert (tmp_path / "restored" / "Images" / "ok.txt").read_text() == "fine\n"
    assert not (tmp_path / "restored" / "Images" / "pipe").exists()


# --- database URLs (exit 2, with an example) --------------------------------------------------


@pytest.mark.parametrize("url", [
    "mysql://root@127.0.0.1:3306",             # no database name
    "mysql://root@127.0.0.1:3306/",            # no database name either
    "http://root@127.0.0.1:3306/opendental",   # not a database URL
    "mysql://root@127.0.0.1:port/opendental",  # the port is not a number
])
def test_database_url_mistakes_are_usage_errors_with_an_example(repo, url):
    cp = run_cli(["backup", "--repo", repo.path, "--db", url])
    assert_fails(cp, 2)
    assert "mysql://USER@HOST:PORT/DBNAME" in cp.stderr
    assert not any((repo.path / "snapshots").iterdir())


def test_restore_db_into_a_url_without_a_name_is_a_usage_error(repo):
    cp = run_cli(["restore-db", "--repo", repo.path, "latest", "--into", "mysql://root@127.0.0.1:3306"])
    assert_fails(cp, 2)
    assert "mysql://USER@HOST:PORT/NEWNAME" in cp.stderr


# --- the --json wire format ---------------------------------------------------------------


def test_backup_progress_totals_not_yet_known_are_null(tmp_path, repo):
    """The background count of the folder starts a second into a run: until it is done the
    totals are unknown, and say so (null), rather than a total of 0 beside files done."""
    office = tmp_path / "Office"
    for i in range(50):
        (office / f"P{i}").mkdir(parents=True)
        (office / f"P{i}" / "chart.txt").write_text(f"chart {i}\n")
    cp = ok(run_cli(["backup", "--repo", repo.path, "--path", office, "--json"]))
    progress = events(cp, "backup_progress")
    assert progress and progress[-1]["files_done"] == 50
    for e in progress:
        for done, total in (("files_done", "files_total"), ("bytes_done", "bytes_total")):
            assert e[total] is None or e[total] >= e[done], e
    unknown = [e for e in progress if e["files_total"] is None]
    assert unknown and all(e["bytes_total"] is None for e in unknown)
