"""Going back to a date and time: ``snapshots``, ``ls``, ``restore`` and ``restore-db`` with ``--at``
choose the newest snapshot at or before it across the main repository and the archive drives plugged
in, and say which repository it came from; with real repositories, a real archive drive and the real
MariaDB."""
from __future__ import annotations

import uuid
from datetime import datetime

from cli_helpers import describe_tree, explain, json_lines, ok, summary
from test_archive import _add, _archive_run, _nightly, office  # noqa: F401  (office: the fixture)
from test_prune import _describe_db, _drop, _make_database, server_conn

from engine.settings import DatabaseSettings, Settings, save_settings


def _local(iso: str) -> str:
    """A snapshot's time as a person types it, in local time (to the microsecond: the test's
    snapshots are taken within the same second)."""
    return datetime.fromisoformat(iso).astimezone().replace(tzinfo=None).isoformat(sep=" ")


def _times(repo, path) -> dict[str, str]:
    cp = ok(repo.run(["snapshots", "--repo", path, "--json"]))
    return {e["id"]: e["time"] for e in json_lines(cp.stdout) if e["event"] == "snapshot"}


def _rename_patient(db: str) -> None:
    conn = server_conn()
    try:
        with conn.cursor() as cur:
            cur.execute(f"UPDATE `{db}`.patient SET LName = 'Changed' WHERE PatNum = 7")
    finally:
        conn.close()


def test_at_finds_the_snapshot_the_main_repository_forgot_on_the_archive_drive(tmp_path, office):  # noqa: F811
    repo, images, media = office
    db = f"odb_at_{uuid.uuid4().hex[:8]}"
    _make_database(db)
    try:
        save_settings(Settings(repository=str(repo.path), extra_folders=(str(images),),
                               database=DatabaseSettings(name=db)))
        saved = [_nightly(repo, images, 0), _nightly(repo, images, 1)]
        database_then = _describe_db(db)
        _rename_patient(db)
        saved.append(_nightly(repo, images, 2))
        _add(repo, media / "DRIVE_A" / "odbackup", "Drive A")
        _archive_run(repo)
        ok(repo.run(["forget", "--repo", repo.path, "--keep-last", "1", "--prune"]))
        times = _times(repo, media / "DRIVE_A" / "odbackup")
        assert list(_times(repo, repo.path)) == [saved[2][0]]
        then = _local(times[saved[1][0]])

        cp = ok(repo.run(["snapshots", "--repo", repo.path, "--at", then, "--json"]))
        doc = summary(cp)
        assert doc["archive_drive"] == "Drive A" and doc["repository"] == str(media / "DRIVE_A" / "odbackup")
        assert [e["id"] for e in json_lines(cp.stdout) if e["event"] == "snapshot"] == [saved[1][0]], explain(cp)
        newest = summary(ok(repo.run(["snapshots", "--repo", repo.path, "--at", _local(times[saved[2][0]]),
                                      "--json"])))
        assert newest["archive_drive"] is None and newest["repository"] == str(repo.path)  # both: the main one

        cp = ok(repo.run(["restore", "--repo", repo.path, "--at", then, "--to", tmp_path / "out"]))
        assert f"from the archive drive 'Drive A' ({media / 'DRIVE_A' / 'odbackup'})" in cp.stderr, explain(cp)
        assert describe_tree(tmp_path / "out" / "Images") == saved[1][1]
        cp = ok(repo.run(["ls", "--repo", repo.path, "--at", then, "Images", "--json"]))
        listed = {e["path"] for e in json_lines(cp.stdout) if e["event"] == "entry" and e["type"] == "file"}
        assert listed == {f"Images/{name}" for name, info in saved[1][1].items() if info[0] == "file"}, listed

        restored = f"odb_at_r_{uuid.uuid4().hex[:8]}"
        try:
            cp = ok(repo.run(["restore-db", "--repo", repo.path, "--at", then, "--into",
                              f"mysql://root@127.0.0.1:3306/{restored}", "--json"]))
            assert summary(cp)["snapshot_id"] == saved[1][0]
            assert _describe_db(restored) == database_then
        finally:
            _drop(restored)
    finally:
        _drop(db)

    (media / "DRIVE_A").rename(tmp_path / "in-the-safe")  # unplugged: only the main repository answers
    cp = ok(repo.run(["snapshots", "--repo", repo.path, "--at", then]), 1)
    assert "No snapshot was taken on or before" in cp.stderr and "the main repository" in cp.stderr, explain(cp)
    cp = ok(repo.run(["restore", "--repo", repo.path, "--at", "yesterday", "--to", tmp_path / "x"]), 2)
    assert "is not a date and time" in cp.stderr, explain(cp)
    cp = ok(repo.run(["restore-db", "--repo", repo.path, "latest", "--at", then, "--into",
                      "mysql://root@127.0.0.1:3306/never_made"]), 2)
    assert "give no SNAPSHOT" in cp.stderr, explain(cp)
    assert not (tmp_path / "x").exists()
