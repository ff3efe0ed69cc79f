"""Restoring folders from a snapshot into a target folder.

Safety first: the target may not be (or lie inside) a folder the snapshot
was taken from, every name is checked (no ``..``, separators, drive letters
or Windows device names) and the final path must stay inside the target;
an existing file is never overwritten. A file is written under a temporary
name and renamed only when every chunk decrypted and matched its ID, so a
damaged backup never leaves wrong bytes under a real name. Chunks are read and
opened by worker threads, in order, ahead of the writer.
"""
from __future__ import annotations

import os
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from ..errors import Cancelled, OdbackupError, UnsafePath
from ..events import (
    EventSink,
    RestoreFinished,
    RestoreProblem,
    RestoreProgress,
    RestoreStarted,
    ignore_events,
)
from ..progress import Throttle
from ..repository.repo import Repository
from ..repository.snapshot import Snapshot
from .browse import Entry, children, find, roots

LOOKAHEAD_BYTES = 64 * 1024 * 1024
LOOKAHEAD_CHUNKS = 64
PARTIAL = ".odbackup-partial-"
_WINDOWS_DEVICES = re.compile(r"^(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\..*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class RestoreResult:
    """What was restored; ``problems`` lists (path, reason)."""

    files: int
    bytes: int
    problems: tuple[tuple[str, str], ...]
    damaged: bool
    duration: float


@dataclass
class _FileJob:
    rel: str
    dest: str
    node: dict
    temp: str = ""
    handle: object = None
    failed: bool = False


@dataclass
class _State:
    files: int = 0
    bytes: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)
    damaged: bool = False
    current: str = ""


def safe_name(name: str) -> bool:
    """May this name be created inside a folder (on this platform)?"""
    if name in ("", ".", "..") or any(c in name for c in "/\\\0"):
        return False
    if os.name == "nt" and (":" in name or _WINDOWS_DEVICES.match(name) or name.endswith((" ", "."))):
        return False
    return True


def _inside(root: str, path: str) -> bool:
    root, path = os.path.realpath(root), os.path.realpath(path)
    return os.path.commonpath([root, path]) == root


def _refuse_live_source(snap: Snapshot, target: str) -> None:
    for source in snap.sources:
        if source["kind"] == "folder" and _inside(source["path"], target):
            raise UnsafePath(
                f"The target '{target}' is inside '{source['path']}', the folder this backup was made from.",
                hint="Restore into another folder, then copy back what you need.",
            )


class Restorer:
    """One restore run."""

    def __init__(self, repo: Repository, snap: Snapshot, target: str, *, verify: bool,
                 on_event: EventSink, cancel: threading.Event) -> None:
        self.repo, self.snap, self.verify = repo, snap, verify
        self.target = os.path.abspath(target)
        self.on_event, self.cancel = on_event, cancel
        self.state = _State()
        self._started = time.monotonic()
        self._totals = (0, 0)
        self.progress = Throttle(self._progress_event, on_event)

    def _progress_event(self) -> RestoreProgress:
        s = self.state
        return RestoreProgress(s.files, s.bytes, self._totals[0], self._totals[1], s.current,
                               time.monotonic() - self._started)

    def problem(self, rel: str, reason: str, *, damage: bool = False) -> None:
        self.state.problems.append((rel, reason))
        self.state.damaged |= damage
        self.on_event(RestoreProblem(rel, reason))

    # --- planning: folders, links and the list of files ---------------------------------

    def plan(self, selected: list[Entry]) -> tuple[list[_FileJob], list[tuple[str, dict]]]:
        """Create folders and links; return the files to write and folders to date."""
        jobs: list[_FileJob] = []
        dirs: list[tuple[str, dict]] = []
        for entry in selected:
            parent = self.target
            for part in entry.path.split("/")[:-1]:
                parent = self._mkdir(parent, part)
                if parent is None:
                    break
            if parent is not None:
                self._plan_entry(entry, parent, jobs, dirs)
        return jobs, dirs

    def _mkdir(self, parent: str, name: str) -> str | None:
        path = os.path.join(parent, name)
        if not safe_name(name):
            self.problem(name, "refused: unsafe name", damage=True)
            return None
        if os.path.islink(path):
            self.problem(os.path.relpath(path, self.target), "a link already stands where a folder goes; "
                         "nothing was written through it")
            return None
        if not _inside(self.target, path):
            self.problem(name, "refused: the path would land outside the restore folder", damage=True)
            return None
        if os.path.lexists(path) and not os.path.isdir(path):
            self.problem(os.path.relpath(path, self.target), "a file already stands where a folder goes; "
                         "it was kept and the folder's contents were not restored")
            return None
        os.makedirs(path, exist_ok=True)
        return path

    def _plan_entry(self, entry: Entry, parent: str, jobs: list[_FileJob], dirs: list) -> None:
        stack = [(entry, parent)]
        while stack:
            self._check_cancel()
            current, where = stack.pop()
            name = current.node["name"]
            dest = os.path.join(where, name)
            if not safe_name(name) or not _inside(self.target, os.path.dirname(dest)):
                self.problem(current.path, "refused: the name would land outside the restore folder", damage=True)
                continue
            kind = current.type
            if kind == "dir":
                made = self._mkdir(where, name)
                if made is None:
                    continue
                dirs.append((made, current.node))
                try:
                    kids = children(self.repo, current)
                except OdbackupError as exc:
                    self.problem(current.path, f"folder contents not restored: {exc}", damage=True)
                    continue
                stack.extend((c, made) for c in reversed(kids))
            elif os.path.lexists(dest):
                self.problem(current.path, "already exists in the restore folder; not overwritten")
            elif kind == "file":
                jobs.append(_FileJob(current.path, dest, current.node))
            elif kind == "symlink":
                self._symlink(current, dest)

    def _symlink(self, entry: Entry, dest: str) -> None:
        try:
            os.symlink(entry.node["target"], dest)
        except OSError as exc:  # e.g. Windows without the symlink privilege
            self.problem(entry.path, f"link not created: {exc.strerror or exc}")

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("The restore was cancelled; files already restored stay in place.")

    # --- writing files ------------------------------------------------------------------------

    def write_files(self, jobs: list[_FileJob]) -> None:
        self._totals = (len(jobs), sum(int(j.node["size"]) for j in jobs))
        self.on_event(RestoreStarted(self.snap.snapshot_id, self.target, *self._totals))
        pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="odbackup-open")
        try:
            for job in jobs:
                if not job.node["content"]:
                    self._open(job)
                    self._finish(job)
            self._stream(pool, [j for j in jobs if j.node["content"]])
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            for job in jobs:
                if job.handle is not None:
                    self._discard(job)

    def _chunks(self, jobs: list[_FileJob]) -> Iterator[tuple[_FileJob, int, bytes, int]]:
        for job in jobs:
            content = job.node["content"]
            for i, (cid, size) in enumerate(content):
                yield job, i, bytes.fromhex(cid), int(size)

    def _stream(self, pool: ThreadPoolExecutor, jobs: list[_FileJob]) -> None:
        ahead: deque[tuple[_FileJob, int, Future[bytes], int]] = deque()
        ahead_bytes = 0
        for job, i, cid, size in self._chunks(jobs):
            self._check_cancel()
            ahead.append((job, i, pool.submit(self.repo.read_blob, cid), size))
            ahead_bytes += size
            while ahead and (ahead_bytes > LOOKAHEAD_BYTES or len(ahead) > LOOKAHEAD_CHUNKS):
                ahead_bytes -= self._write_next(ahead)
        while ahead:
            self._check_cancel()
            self._write_next(ahead)

    def _write_next(self, ahead: deque) -> int:
        job, i, future, size = ahead.popleft()
        if job.failed:
            future.cancel()
            return size
        try:
            data = future.result()
        except OdbackupError as exc:
            job.failed = True
            self._discard(job)
            self.problem(job.rel, f"not restored: {exc}", damage=True)
            return size
        if i == 0:
            self._open(job)
        job.handle.write(data)  # type: ignore[attr-defined]
        self.state.bytes += len(data)
        self.state.current = job.rel
        self.progress.tick()
        if i == len(job.node["content"]) - 1:
            self._finish(job)
        return size

    def _open(self, job: _FileJob) -> None:
        job.temp = os.path.join(os.path.dirname(job.dest), PARTIAL + secrets.token_hex(6))
        job.handle = open(job.temp, "xb")  # noqa: SIM115 - closed in _finish/_discard

    def _discard(self, job: _FileJob) -> None:
        if job.handle is not None:
            job.handle.close()  # type: ignore[attr-defined]
            job.handle = None
        if job.temp and os.path.exists(job.temp):
            os.remove(job.temp)

    def _finish(self, job: _FileJob) -> None:
        job.handle.close()  # type: ignore[attr-defined]
        job.handle = None
        if os.path.lexists(job.dest):
            os.remove(job.temp)
            self.problem(job.rel, "appeared in the restore folder meanwhile; not overwritten")
            return
        os.replace(job.temp, job.dest)
        _apply_metadata(job.dest, job.node)
        self.state.files += 1
        if self.verify and not self._verify_file(job):
            self.problem(job.rel, "verification failed: the file on disk differs from the backup", damage=True)

    def _verify_file(self, job: _FileJob) -> bool:
        """Re-read the written file and compare every chunk with its ID."""
        with open(job.dest, "rb") as f:
            for cid, size in job.node["content"]:
                piece = f.read(int(size))
                if len(piece) != int(size) or self.repo.ids.blob_id("data", piece).hex() != cid:
                    return False
            return f.read(1) == b""


def _apply_metadata(path: str, node: dict) -> None:
    try:
        os.chmod(path, int(node.get("mode", 0o644)))
    except OSError:
        pass  # e.g. a FAT/exFAT USB drive: modes do not exist there
    mtime = int(node.get("mtime_ns", 0))
    os.utime(path, ns=(mtime, mtime))


def restore(
    repo: Repository,
    snap: Snapshot,
    target: str,
    *,
    paths: tuple[str, ...] = (),
    verify: bool = False,
    on_event: EventSink = ignore_events,
    cancel: threading.Event | None = None,
) -> RestoreResult:
    """Restore the snapshot's folders (or the chosen ``paths``) into ``target``."""
    snap.open_body(repo.require_full_key())
    _refuse_live_source(snap, target)
    os.makedirs(target, exist_ok=True)
    run = Restorer(repo, snap, target, verify=verify, on_event=on_event, cancel=cancel or threading.Event())
    selected = [find(repo, snap, p) for p in paths] if paths else roots(repo, snap)
    jobs, dirs = run.plan(selected)
    run.write_files(jobs)
    for path, node in reversed(dirs):  # children first, so writing does not touch the time again
        _apply_metadata(path, node)
    run.progress.tick(force=True)
    s = run.state
    duration = time.monotonic() - run._started
    on_event(RestoreFinished(s.files, s.bytes, len(s.problems), verify, duration))
    return RestoreResult(s.files, s.bytes, tuple(s.problems), s.damaged, duration)
