"""A restore killed (kill -9) at any moment, then run again with the same command, ends exactly
as an uninterrupted one; until then nothing half-written looks finished: in a new restore folder
a file not yet whole is marked started in the journal and lacks the backup's modification time,
and in a live folder nothing half-written ever stands under a real name.

Each seed kills the real CLI restore at its own moment: once a seeded number of entries
(folders, files, links, the journal and partly written files; or files alone) have appeared
in the target, plus a seeded few milliseconds.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cli_helpers import (
    ROOT,
    cli_command,
    describe_tree,
    events,
    explain,
    init_repo,
    make_tree,
    ok,
    random_file,
    shared_env,
    summary,
)

from engine.folders.restore import PARTIAL, REPLACED

SEEDS = range(12)
JOURNAL_SUFFIX = ".odbackup-restore-unfinished.json"
"""Beside a restored folder while its restore is unfinished (docs/CLI.md: what a user sees)."""
MARKERS = (PARTIAL, JOURNAL_SUFFIX)


def add_office_files(root: Path, rng: random.Random) -> None:
    """Many small files (most of a practice's files) and a few of several chunks."""
    for n in range(140):
        path = root / "ABCDEF"[n % 6] / f"Patient{n % 17}" / f"doc{n}.{'jpg' if n % 3 else 'txt'}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(rng.randrange(0, 48_000)))
        os.utime(path, ns=(1_600_000_000_000_000_000 + n, 1_600_000_000_000_000_000 + n * 1_000_003))
    for n in range(3):
        random_file(root / "Scans" / f"scan{n}.pdf", 1_500_000 + n * 700_000)


@pytest.fixture(scope="module")
def practice(tmp_path_factory):
    """A repository with one snapshot of ``Office`` (every kind of entry, ~170 files)."""
    base = tmp_path_factory.mktemp("restore-crash")
    repo = init_repo(base / "repo", base_env=shared_env(base / "home"))
    source = make_tree(base / "Office")
    add_office_files(source, random.Random(1))
    os.utime(source / "Nested", ns=(1_430_000_000_000_000_000,) * 2)  # add_office_files did not touch it
    repo.backup(source)
    return repo, source


def entries(root: Path) -> int:
    """Folders, files and links below ``root`` (0 while it does not exist)."""
    return sum(len(dirs) + len(files) for _where, dirs, files in os.walk(root))


def files_seen(root: Path) -> int:
    """Files below ``root``, whole or partly written (0 while it does not exist)."""
    return sum(len(files) for _where, _dirs, files in os.walk(root))


def kill_restore_at(args: list, env: dict, target: Path, at_entries: int, delay: float,
                    count=entries) -> int:
    """Start ``odbackup ARGS``; kill -9 it once ``count(target)`` reaches ``at_entries``, plus
    ``delay`` seconds. Returns the exit status (``-SIGKILL`` when it was killed)."""
    proc = subprocess.Popen(cli_command(args), cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while count(target) < at_entries and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    return proc.returncode


def real_files(root: Path) -> dict[str, Path]:
    """Regular files under their real names (not the restore's own journal or partial files)."""
    found = {}
    for where, _dirs, files in os.walk(root):
        for name in files:
            path = Path(where) / name
            if not path.is_symlink() and not name.startswith(PARTIAL):
                found[path.relative_to(root).as_posix()] = path
    return found


def leftovers(root: Path) -> list[str]:
    """The restore's own files (journal, partial files) anywhere under ``root``."""
    return sorted(str(p) for p in root.rglob("*") if any(m in p.name for m in MARKERS))


def kept_aside(where: Path) -> int:
    """Files in the folders beside ``where``'s folders that keep what a restore replaced."""
    return sum(len(real_files(p)) for p in where.iterdir() if REPLACED in p.name)


def journal_of(target: Path) -> tuple[dict, set[str]]:
    """The journal beside ``target/Office`` (docs/CLI.md): its header and its started files."""
    lines = (target / f"Office{JOURNAL_SUFFIX}").read_text(encoding="utf-8").splitlines()
    started = set()
    for line in lines[1:]:
        try:
            started.add(json.loads(line))
        except ValueError:  # the last line may be cut short
            pass
    return json.loads(lines[0]), started


def split_by_whole(restored: Path, source: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    """Files under their real names: whole (the backup's bytes and modification time), and not."""
    whole, unfinished = {}, {}
    for rel, path in real_files(restored).items():
        done = path.read_bytes() == (source / rel).read_bytes() and \
            path.stat().st_mtime_ns == (source / rel).stat().st_mtime_ns
        (whole if done else unfinished)[rel] = path
    return whole, unfinished


def partial_files(root: Path) -> int:
    return sum(1 for p in root.rglob("*") if p.name.startswith(PARTIAL))


@pytest.mark.parametrize("seed", SEEDS)
def test_restore_killed_at_a_random_moment_finishes_exactly_when_run_again(tmp_path, practice, seed):
    repo, source = practice
    rng = random.Random(seed)
    count = entries if seed % 3 == 0 else files_seen  # while folders are made, or files written
    at, delay = rng.randrange(1, int((count(source) + 1) * 0.8)), rng.uniform(0, 0.004)
    target = tmp_path / "restored"
    args = ["restore", "--repo", repo.path, "latest", "--to", target, "--json"]

    assert kill_restore_at(args, repo.env(), target, at, delay, count) == -signal.SIGKILL, "it ended before the kill"
    restored = target / "Office"
    complete, unfinished = split_by_whole(restored, source)
    partial = partial_files(restored)
    if len(complete) < len(real_files(source)):  # unfinished: the target says so
        header, started = journal_of(target)
        assert {f"Office/{rel}" for rel in complete} <= set(header["own"])  # the restore's own
        for rel, path in unfinished.items():  # and no file that is not whole looks finished
            assert f"Office/{rel}" in started, f"{rel} is not whole and not marked started"
            assert path.stat().st_mtime_ns != (source / rel).stat().st_mtime_ns, rel

    if not (target / f"Office{JOURNAL_SUFFIX}").exists() and not unfinished and not partial:
        # A loaded machine let the restore end (journal removed) before the kill landed: nothing
        # to finish, and what it wrote must already be exact.
        assert describe_tree(restored, with_dir_times=True) == describe_tree(source, with_dir_times=True)
        assert leftovers(target) == []
        return
    verify = seed % 2 == 1  # run again as is, or with --verify (which reads back the kept files too)
    again = ok(repo.run([*args, "--verify"] if verify else args))
    doc = summary(again)
    assert doc["problems"] == [] and doc["verified"] is verify, explain(again)
    assert describe_tree(restored, with_dir_times=True) == describe_tree(source, with_dir_times=True)
    assert leftovers(target) == []
    if complete or unfinished or partial:
        assert doc["resumed"] == {"kept": len(complete), "rewritten": len(unfinished) + partial}, explain(again)
    assert doc["files"] == len(real_files(source)) - len(complete)


def test_an_unfinished_restore_run_again_with_verify_checks_the_kept_files(tmp_path, practice):
    """A file the interrupted restore listed as its own, whole by size and time but with other
    bytes (a power cut can leave that), is found by ``--verify`` and written again."""
    repo, source = practice
    target = tmp_path / "restored"
    args = ["restore", "--repo", repo.path, "latest", "--to", target, "--json"]
    assert kill_restore_at(args, repo.env(), target, len(real_files(source)) // 5, 0, files_seen) == -signal.SIGKILL
    restored = target / "Office"
    victim = next(p for rel, p in sorted(split_by_whole(restored, source)[0].items()) if p.stat().st_size > 100)
    st = victim.stat()
    victim.write_bytes(b"\0" * st.st_size)
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))

    doc = summary(ok(repo.run([*args, "--verify"])))
    assert doc["verified"] is True and doc["problems"] == []
    assert doc["resumed"]["rewritten"] >= 1
    assert describe_tree(restored, with_dir_times=True) == describe_tree(source, with_dir_times=True)


def test_a_file_cut_short_under_its_real_name_is_rewritten_not_kept(tmp_path, practice):
    """What an interrupted restore created counts as its own: a file of it cut short is written
    again; a file it did not create (put there meanwhile) is still never overwritten."""
    repo, source = practice
    early = len(real_files(source)) // 5  # files are started a few dozen ahead: some never are
    for attempt in range(4):  # a loaded machine may start every file before the kill lands: earlier
        target = tmp_path / f"restored{attempt}"
        args = ["restore", "--repo", repo.path, "latest", "--to", target, "--json"]
        assert kill_restore_at(args, repo.env(), target, max(early >> attempt, 1), 0, files_seen) == -signal.SIGKILL
        restored = target / "Office"
        _header, started = journal_of(target)  # handed to a writer (some not created yet): its own
        missing = sorted(rel for rel in set(real_files(source)) - set(real_files(restored))
                         if f"Office/{rel}" not in started)
        whole = [p for rel, p in sorted(split_by_whole(restored, source)[0].items()) if p.stat().st_size > 100]
        if missing and whole:
            break
    assert missing and whole, "every kill came after every file was started"
    victim = whole[0]
    st = victim.stat()
    with open(victim, "r+b") as f:  # as a power cut can leave it: short, with the time it was given
        f.truncate(10)
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    mine = restored / missing[-1]
    mine.parent.mkdir(parents=True, exist_ok=True)
    mine.write_bytes(b"a file the office put here meanwhile\n")

    cp = repo.run(args)
    assert cp.returncode == 3, explain(cp)
    assert [e["path"] for e in events(cp, "restore_problem")] == [f"Office/{missing[-1]}"]
    assert mine.read_bytes() == b"a file the office put here meanwhile\n"
    assert victim.read_bytes() == (source / victim.relative_to(restored)).read_bytes()
    assert summary(cp)["resumed"]["rewritten"] >= 1


def test_text_output_says_what_a_resumed_restore_did(tmp_path, practice):
    repo, source = practice
    target = tmp_path / "restored"
    args = ["restore", "--repo", repo.path, "latest", "--to", target]
    assert kill_restore_at(args, repo.env(), target, len(real_files(source)) // 5, 0, files_seen) == -signal.SIGKILL
    kept = len(split_by_whole(target / "Office", source)[0])
    cp = ok(repo.run(args))
    assert f"resumed: {kept:,} files already complete kept, " in cp.stdout, explain(cp)
    assert f"Finishing the unfinished restore recorded in {target / 'Office'}{JOURNAL_SUFFIX}: " in cp.stderr


# --- into the original place: a live file is never half-written -------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_restore_into_the_original_place_killed_then_run_again(tmp_path, repo, seed):
    """``--original --overwrite --confirm``: killed at any moment, every live file is either its
    previous version or the backup's, whole; run again, the backup's version of every file is back
    and every replaced version is kept in one folder beside it."""
    rng = random.Random(100 + seed)
    images = tmp_path / "Images"
    add_office_files(images, rng)
    repo.backup(images)
    backed_up = {rel: p.read_bytes() for rel, p in real_files(images).items()}
    changed = {}
    for rel in sorted(backed_up)[::3]:  # the office changed a third of the files since
        changed[rel] = os.urandom(rng.randrange(1, 30_000))
        (images / rel).write_bytes(changed[rel])
    (images / "A" / "new-since.txt").write_bytes(b"added after the backup\n")
    args = ["restore", "--repo", repo.path, "latest", "--original", "--overwrite", "--confirm", images, "--json"]

    at = rng.randrange(1, len(changed) * 4 // 5)  # killed once that many files were replaced
    assert kill_restore_at(args, repo.env(), tmp_path, at, rng.uniform(0, 0.004), count=kept_aside) == -signal.SIGKILL
    for rel, path in real_files(images).items():
        assert path.read_bytes() in (backed_up.get(rel), changed.get(rel), b"added after the backup\n"), rel

    ok(repo.run(args))
    now = real_files(images)
    assert {rel: now[rel].read_bytes() for rel in backed_up} == backed_up
    assert (images / "A" / "new-since.txt").read_bytes() == b"added after the backup\n"
    kept = [p for p in tmp_path.iterdir() if REPLACED in p.name]
    assert len(kept) == 1, kept
    assert {rel: p.read_bytes() for rel, p in real_files(kept[0]).items()} == changed
    assert leftovers(images) == [] and leftovers(tmp_path / "Images") == []
