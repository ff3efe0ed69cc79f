"""``check --read-data`` while backups write: a healthy repository is reported healthy every round.

Real processes on both sides: a thread runs one ``odbackup backup`` after another (each adding new
files, written as many small packs and index files), while ``odbackup check --read-data`` runs again
and again. A snapshot that appears while a check runs must not be checked against an index read
before it existed.
"""
from __future__ import annotations

import os
import threading

from cli_helpers import cli_env, events, explain, random_file, run_cli, summary

SMALL_PACKS = str(64 * 1024)
OVERLAPPING = 8
"""Rounds during which a backup published its snapshot: the moments that matter."""
MAX_ROUNDS = 40


def test_check_read_data_during_backups_reports_healthy(tmp_path, repo):
    env = cli_env(ODBACKUP_TEST_PACK_SIZE=SMALL_PACKS)
    source = tmp_path / "Images"
    made: list[str] = []
    failures: list[str] = []
    stop = threading.Event()

    def backup_once(n: int, files: int = 64, size: int = 64 * 1024) -> None:
        for i in range(files):  # new files (4 MiB): dozens of small packs, several index files
            random_file(source / f"run{n:03}" / f"scan{i:02}.bin", size)
        cp = run_cli(["backup", "--repo", repo.path, "--path", source, "--json"], env)
        if cp.returncode != 0:
            failures.append(explain(cp))
            stop.set()
        else:
            made.append(summary(cp)["snapshot_id"])

    # Something to check from the first round on, large enough that most of a check's time goes
    # to reading data (after the index is loaded) rather than to starting the process.
    backup_once(0, files=48, size=1024 * 1024)

    def keep_backing_up() -> None:
        n = 1
        while not stop.is_set():
            backup_once(n)
            n += 1

    writer = threading.Thread(target=keep_backing_up)
    writer.start()
    rounds = []  # (check, did a snapshot appear while it ran)
    try:
        while sum(overlapped for _, overlapped in rounds) < OVERLAPPING and len(rounds) < MAX_ROUNDS:
            before = set(os.listdir(repo.path / "snapshots"))
            cp = run_cli(["check", "--repo", repo.path, "--read-data", "--json"], env)
            rounds.append((cp, set(os.listdir(repo.path / "snapshots")) != before))
            if cp.returncode != 0 or failures:
                break
    finally:
        stop.set()
        writer.join(timeout=300)
    assert not failures, failures[0]
    for cp, _ in rounds:
        assert cp.returncode == 0, explain(cp)
        assert summary(cp)["errors"] == [] and events(cp, "damage_found") == []
    assert sum(overlapped for _, overlapped in rounds) >= OVERLAPPING, "backups should finish while checks run"
    assert not os.path.exists(repo.path / "locks" / "exclusive")
    assert [n for n in os.listdir(repo.path / "locks") if n.startswith("shared-")] == []
