"""Restoring folders from a snapshot into a target folder.

Safety first. Nothing is written into a folder the snapshot was taken from
(a "live" folder: the A to Z images folder the office works in), or into a
folder that holds one, unless the caller asked to overwrite and typed that
folder's full path to confirm. Every name is checked (no ``..``, separators,
drive letters or Windows device names) and every path must stay inside the
folder it is restored into. An existing file is never overwritten, except in
overwrite mode, where a file that differs from the backup's is replaced and
its current version is first moved aside into a sibling folder
(``<folder>.odbackup-replaced-<time>``): nothing is deleted, and files that
are not in the backup are left alone. A file is written under a temporary
name and renamed only when every chunk decrypted and matched its ID (a small
file is read and checked whole before it is created), so a damaged backup
never leaves wrong bytes under a real name. Worker threads write several
files at once, each file whole by one thread.

:func:`preview` answers, without writing anything, exactly what a restore
would create and replace.
"""
from __future__ import annotations

import itertools
import os
import re
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime

from ..errors import Cancelled, OdbackupError, UnsafePath, UsageError
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
from ..repository.storage import RangeReader
from .browse import Entry, children, find, roots

WORKERS = 4
"""Files written at once (each by one thread: read, decrypt, check, write)."""
IN_FLIGHT = 16 * WORKERS
WHOLE_IN_MEMORY = 8 * 1024 * 1024
"""Files up to this size are read and checked whole before they are created (no temporary name)."""
PARTIAL = ".odbackup-partial-"
REPLACED = ".odbackup-replaced-"
_WINDOWS_DEVICES = re.compile(r"^(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\..*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class RestoreResult:
    """What was restored; ``problems`` lists (path, reason).

    In overwrite mode ``replaced`` files had another version on disk, which was
    moved into one of the ``kept_in`` folders; ``unchanged`` files were already
    as in the backup (same size and modification time) and were not rewritten.
    """

    files: int
    bytes: int
    problems: tuple[tuple[str, str], ...]
    damaged: bool
    duration: float
    replaced: int = 0
    unchanged: int = 0
    kept_in: tuple[str, ...] = ()


@dataclass(frozen=True)
class RestorePreview:
    """What a restore would do, found without writing anything.

    ``live`` names the live folders it would write into (those need overwrite
    mode and the folder's path typed to confirm); ``replaced`` lists the
    snapshot paths of files on disk that would be replaced (and kept aside).
    """

    destinations: tuple[str, ...]
    live: tuple[str, ...]
    new_files: int
    new_bytes: int
    replaced: tuple[str, ...]
    replaced_bytes: int
    unchanged: int
    problems: tuple[tuple[str, str], ...]


@dataclass
class _FileJob:
    rel: str
    dest: str
    node: dict
    base: str
    replace: bool = False
    temp: str = ""
    handle: object = None


@dataclass(frozen=True)
class _Outcome:
    """How writing one file ended (made in a worker, counted in the main thread)."""

    job: _FileJob
    written: bool
    replaced: bool = False
    reason: str | None = None
    damage: bool = False


@dataclass
class _State:
    files: int = 0
    bytes: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)
    damaged: bool = False
    current: str = ""
    replaced: int = 0
    unchanged: int = 0


def safe_name(name: str) -> bool:
    """May this name be created inside a folder (on this platform)?"""
    if name in ("", ".", "..") or any(c in name for c in "/\\\0"):
        return False
    if os.name == "nt" and (":" in name or _WINDOWS_DEVICES.match(name) or name.endswith((" ", "."))):
        return False
    return True


def same_folder(a: str, b: str) -> bool:
    """Do two paths name the same folder (as typed: ``~`` expanded, case folded on Windows)?"""
    def norm(p: str) -> str:
        return os.path.normcase(os.path.realpath(os.path.abspath(os.path.expanduser(p.strip()))))
    return bool(a.strip()) and bool(b.strip()) and norm(a) == norm(b)


def _inside(root: str, path: str) -> bool:
    root, path = os.path.realpath(root), os.path.realpath(path)
    try:
        return os.path.normcase(os.path.commonpath([root, path])) == os.path.normcase(root)
    except ValueError:  # different drives on Windows
        return False


def _overlap(a: str, b: str) -> bool:
    return _inside(a, b) or _inside(b, a)


def destinations(snap: Snapshot, target: str | None, roots: list[str], original: bool) -> dict[str, str]:
    """For each source folder name in ``roots``: the folder its contents are restored into."""
    found = {}
    for source in snap.sources:
        if source["kind"] == "folder" and source["name"] in roots:
            if original:
                found[source["name"]] = os.path.abspath(source["path"])
            else:
                assert target is not None
                if not safe_name(source["name"]):
                    raise UnsafePath(f"The snapshot names a folder '{source['name']}', which is not a safe name.")
                found[source["name"]] = os.path.join(os.path.abspath(target), source["name"])
    return found


def live_folders_touched(snap: Snapshot, bases: dict[str, str], live: tuple[str, ...] = ()) -> list[str]:
    """The live folders (the snapshot's sources, plus ``live``) a restore into ``bases`` would write into."""
    candidates = [s["path"] for s in snap.sources if s["kind"] == "folder"] + list(live)
    touched: list[str] = []
    for path in candidates:
        if any(_overlap(path, base) for base in bases.values()) and not any(same_folder(path, t) for t in touched):
            touched.append(os.path.abspath(path))
    return touched


def _check_live(touched: list[str], overwrite: bool, confirm: str | None) -> None:
    if not touched:
        return
    where = " and ".join(f"'{p}'" for p in touched)
    if not overwrite:
        raise UnsafePath(
            f"This restore would write into {where}, a folder the office works in (it was backed up from there).",
            hint="Restore into another folder, then copy back what you need; or, to put the backup's files back "
                 "in place, overwrite on purpose (--overwrite --confirm FOLDER, the folder's full path).",
        )
    if len(touched) > 1:
        raise UnsafePath(f"This restore would write into several live folders ({where}).",
                         hint="Restore them one at a time, each confirmed with its own path.")
    if confirm is None or not same_folder(confirm, touched[0]):
        raise UnsafePath(f"Writing into the live folder '{touched[0]}' needs its full path typed to confirm.",
                         hint=f"Give --confirm '{touched[0]}' (exactly that folder).")


class Restorer:
    """One restore run (or, with ``dry_run``, the plan of one)."""

    def __init__(self, repo: Repository, snap: Snapshot, bases: dict[str, str], *, verify: bool,
                 on_event: EventSink, cancel: threading.Event, overwrite: bool = False,
                 dry_run: bool = False, original: bool = False) -> None:
        self.repo, self.snap, self.verify = repo, snap, verify
        self.original = original
        self.bases = bases
        self.overwrite, self.dry_run = overwrite, dry_run
        self.on_event, self.cancel = on_event, cancel
        self.state = _State()
        self.kept: dict[str, str] = {}
        """base -> the folder where replaced files of that base are kept."""
        self._stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        self._token = os.urandom(4).hex()
        self._serial = itertools.count()
        self._count_lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[RangeReader] = []
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
        if not self.dry_run:
            self.on_event(RestoreProblem(rel, reason))

    # --- planning: folders, links and the list of files ---------------------------------

    def plan(self, selected: list[Entry]) -> tuple[list[_FileJob], list[tuple[str, dict]]]:
        """Create folders and links; return the files to write and the folders created (to date)."""
        jobs: list[_FileJob] = []
        dirs: list[tuple[str, dict]] = []
        for entry in selected:
            parts = entry.path.split("/")
            base = self.bases[parts[0]]
            parent = self._make_base(base, entry.node if len(parts) == 1 else None, dirs)
            if len(parts) == 1:
                if parent is not None:
                    self._plan_children(entry, parent, base, jobs, dirs)
                continue
            for part in parts[1:-1]:
                if parent is None:
                    break
                parent = self._mkdir(parent, part, base, None, dirs)
            if parent is not None:
                self._plan_entry(entry, parent, base, jobs, dirs)
        return jobs, dirs

    def _rel(self, path: str, base: str) -> str:
        """``path`` (below ``base``) as a path in the snapshot."""
        root = next(name for name, b in self.bases.items() if b == base)
        rel = os.path.relpath(path, base).replace(os.sep, "/")
        return root if rel == "." else f"{root}/{rel}"

    def _make_base(self, base: str, node: dict | None, dirs: list) -> str | None:
        if os.path.islink(base) and not self.original:
            self.problem(self._rel(base, base), "a link already stands where a folder goes; "
                         "nothing was written through it")
            return None
        if os.path.lexists(base) and not os.path.isdir(base):
            self.problem(self._rel(base, base), f"'{base}' is a file, not a folder; nothing was restored there")
            return None
        if not os.path.isdir(base) and not self.dry_run:
            os.makedirs(base)
            if node is not None:
                dirs.append((base, node))
        return base

    def _mkdir(self, parent: str, name: str, base: str, node: dict | None, dirs: list) -> str | None:
        path = os.path.join(parent, name)
        if not safe_name(name):
            self.problem(name, "refused: unsafe name", damage=True)
            return None
        if os.path.islink(path):
            self.problem(self._rel(path, base), "a link already stands where a folder goes; "
                         "nothing was written through it")
            return None
        if not _inside(base, path):
            self.problem(name, "refused: the path would land outside the restore folder", damage=True)
            return None
        if os.path.lexists(path) and not os.path.isdir(path):
            self.problem(self._rel(path, base), "a file already stands where a folder goes; "
                         "it was kept and the folder's contents were not restored")
            return None
        if not os.path.isdir(path) and not self.dry_run:
            os.mkdir(path)
            if node is not None:  # only folders made here get the backup's dates; existing ones stay as they are
                dirs.append((path, node))
        return path

    def _plan_children(self, entry: Entry, where: str, base: str, jobs: list[_FileJob], dirs: list) -> None:
        try:
            kids = children(self.repo, entry)
        except OdbackupError as exc:
            self.problem(entry.path, f"folder contents not restored: {exc}", damage=True)
            return
        for kid in kids:
            self._plan_entry(kid, where, base, jobs, dirs)

    def _plan_entry(self, entry: Entry, parent: str, base: str, jobs: list[_FileJob], dirs: list) -> None:
        stack = [(entry, parent)]
        while stack:
            self._check_cancel()
            current, where = stack.pop()
            name = current.node["name"]
            dest = os.path.join(where, name)
            if not safe_name(name) or not _inside(base, os.path.dirname(dest)):
                self.problem(current.path, "refused: the name would land outside the restore folder", damage=True)
                continue
            kind = current.type
            if kind == "dir":
                made = self._mkdir(where, name, base, current.node, dirs)
                if made is None:
                    continue
                try:
                    kids = children(self.repo, current)
                except OdbackupError as exc:
                    self.problem(current.path, f"folder contents not restored: {exc}", damage=True)
                    continue
                stack.extend((c, made) for c in reversed(kids))
            elif kind == "file":
                self._plan_file(current, dest, base, jobs)
            elif os.path.lexists(dest):
                self.problem(current.path, "already exists in the restore folder; not overwritten")
            elif kind == "symlink" and not self.dry_run:
                self._symlink(current, dest)

    def _plan_file(self, entry: Entry, dest: str, base: str, jobs: list[_FileJob]) -> None:
        if not os.path.lexists(dest):
            jobs.append(_FileJob(entry.path, dest, entry.node, base))
        elif not self.overwrite:
            self.problem(entry.path, "already exists in the restore folder; not overwritten")
        elif os.path.islink(dest) or not os.path.isfile(dest):
            self.problem(entry.path, "something other than a file stands there; it was kept")
        else:
            st = os.stat(dest)
            if st.st_size == int(entry.node["size"]) and st.st_mtime_ns == int(entry.node.get("mtime_ns", 0)):
                self.state.unchanged += 1
            else:
                jobs.append(_FileJob(entry.path, dest, entry.node, base, replace=True))

    def _symlink(self, entry: Entry, dest: str) -> None:
        try:
            os.symlink(entry.node["target"], dest)
        except OSError as exc:  # e.g. Windows without the symlink privilege
            self.problem(entry.path, f"link not created: {exc.strerror or exc}")

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("The restore was cancelled; files already restored stay in place.")

    # --- writing files ------------------------------------------------------------------------
    #
    # Each file is written whole by one worker thread (read, decrypt and check each chunk, write,
    # rename), several files at once: file writes here go faster from several threads, and a
    # worker that both opens chunks and writes keeps the GIL hand-overs few. The main thread only
    # hands out files, counts what came back and reports progress and problems.

    def write_files(self, jobs: list[_FileJob]) -> None:
        self._totals = (len(jobs), sum(int(j.node["size"]) for j in jobs))
        self.on_event(RestoreStarted(self.snap.snapshot_id, ", ".join(sorted(set(self.bases.values()))),
                                     *self._totals))
        stop = threading.Event()
        pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="odbackup-restore")
        pending: set[Future[_Outcome]] = set()
        queue = iter(jobs)
        try:
            while True:
                while len(pending) < IN_FLIGHT:
                    job = next(queue, None)
                    if job is None:
                        break
                    pending.add(pool.submit(self._write_file, job, stop))
                if not pending:
                    break
                done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                for future in done:
                    self._settle(future.result())
                self.progress.tick()
                self._check_cancel()
        finally:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            for reader in self._readers:
                reader.close()
            for future in pending:  # finished while stopping: count what made it
                if future.done() and not future.cancelled() and future.exception() is None:
                    self._settle(future.result())

    def _write_file(self, job: _FileJob, stop: threading.Event) -> _Outcome:
        """In a worker: the whole file, each chunk checked before a byte of it is written.

        A small new file is read and checked whole first, then written under its
        own name (a rename per file costs a quarter of a restore's time here); a
        large one, or one that replaces a file, is written under a temporary name
        and renamed once every chunk checked out.
        """
        try:
            if not job.replace and int(job.node["size"]) <= WHOLE_IN_MEMORY:
                return self._write_small(job, stop)
            self._open(job)
            reader = self._reader()
            for cid, _size in job.node["content"]:
                if stop.is_set() or self.cancel.is_set():
                    self._discard(job)
                    return _Outcome(job, written=False)
                data = self.repo.read_blob(bytes.fromhex(cid), reader)
                job.handle.write(data)  # type: ignore[attr-defined]
                self._count(job, len(data))
            return self._finish(job)
        except OdbackupError as exc:
            self._discard(job)
            return _Outcome(job, written=False, reason=f"not restored: {exc}", damage=True)
        except OSError as exc:
            self._discard(job)
            return _Outcome(job, written=False, reason=f"not restored: {exc.strerror or exc}")

    def _write_small(self, job: _FileJob, stop: threading.Event) -> _Outcome:
        pieces = []
        reader = self._reader()
        for cid, _size in job.node["content"]:
            if stop.is_set() or self.cancel.is_set():
                return _Outcome(job, written=False)
            pieces.append(self.repo.read_blob(bytes.fromhex(cid), reader))  # raises on damage: nothing written
        try:
            handle = open(job.dest, "xb")  # noqa: SIM115 - closed below
        except FileExistsError:
            return _Outcome(job, written=False, reason="appeared in the restore folder meanwhile; not overwritten")
        try:
            with handle:
                for piece in pieces:
                    handle.write(piece)
        except OSError:
            os.remove(job.dest)  # e.g. the disk is full: no cut-off file under the real name
            raise
        self._count(job, sum(len(p) for p in pieces))
        return self._written(job)

    def _reader(self) -> RangeReader:
        """This worker thread's reader (pack files kept open between its blobs)."""
        reader = getattr(self._local, "reader", None)
        if reader is None:
            reader = self._local.reader = RangeReader(self.repo.backend)
            self._readers.append(reader)
        return reader

    def _count(self, job: _FileJob, written: int) -> None:
        with self._count_lock:
            self.state.bytes += written
        self.state.current = job.rel

    def _settle(self, outcome: _Outcome) -> None:
        """In the main thread: count a file that came back, report its problem."""
        if outcome.written:
            self.state.files += 1
            self.state.replaced += outcome.replaced
        if outcome.reason:
            self.problem(outcome.job.rel, outcome.reason, damage=outcome.damage)

    def _open(self, job: _FileJob) -> None:
        job.temp = os.path.join(os.path.dirname(job.dest), f"{PARTIAL}{self._token}-{next(self._serial)}")
        job.handle = open(job.temp, "xb")  # noqa: SIM115 - closed in _finish/_discard

    def _discard(self, job: _FileJob) -> None:
        if job.handle is not None:
            job.handle.close()  # type: ignore[attr-defined]
            job.handle = None
        if job.temp and os.path.exists(job.temp):
            os.remove(job.temp)

    def _finish(self, job: _FileJob) -> _Outcome:
        job.handle.close()  # type: ignore[attr-defined]
        job.handle = None
        if not job.replace and os.path.lexists(job.dest):
            os.remove(job.temp)
            return _Outcome(job, written=False, reason="appeared in the restore folder meanwhile; not overwritten")
        try:
            if job.replace:
                self._put_in_place(job)
            else:
                os.replace(job.temp, job.dest)
        except OSError as exc:
            os.remove(job.temp)
            return _Outcome(job, written=False, reason=f"not replaced: {exc.strerror or exc} (the file on disk "
                                                       "was kept)")
        return self._written(job)

    def _written(self, job: _FileJob) -> _Outcome:
        """The file is in place: its dates and mode, then (if asked) read back and compared."""
        _apply_metadata(job.dest, job.node)
        if self.verify and not self._verify_file(job):
            return _Outcome(job, written=True, replaced=job.replace, damage=True,
                            reason="verification failed: the file on disk differs from the backup")
        return _Outcome(job, written=True, replaced=job.replace)

    def _put_in_place(self, job: _FileJob) -> None:
        """Move the file on disk into the kept folder, then the restored one into its place."""
        keep_root = f"{job.base.rstrip(os.sep + '/')}{REPLACED}{self._stamp}"
        kept = os.path.join(keep_root, os.path.relpath(job.dest, job.base))
        os.makedirs(os.path.dirname(kept), exist_ok=True)
        self.kept[job.base] = keep_root
        os.replace(job.dest, kept)
        try:
            os.replace(job.temp, job.dest)
        except OSError:
            os.replace(kept, job.dest)  # put the original back
            raise

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


def _selection(repo: Repository, snap: Snapshot, target: str | None, paths: tuple[str, ...],
               original: bool) -> tuple[list[Entry], dict[str, str]]:
    if original == (target is not None):
        raise UsageError("Give either a folder to restore into or 'the original place', not both.")
    snap.open_body(repo.require_full_key())
    selected = [find(repo, snap, p) for p in paths] if paths else roots(repo, snap)
    bases = destinations(snap, target, [e.path.split("/")[0] for e in selected], original)
    return selected, bases


def preview(
    repo: Repository,
    snap: Snapshot,
    target: str | None = None,
    *,
    paths: tuple[str, ...] = (),
    original: bool = False,
    overwrite: bool = False,
    live: tuple[str, ...] = (),
) -> RestorePreview:
    """What :func:`restore` with the same arguments would do; nothing is written."""
    selected, bases = _selection(repo, snap, target, paths, original)
    run = Restorer(repo, snap, bases, verify=False, on_event=ignore_events, cancel=threading.Event(),
                   overwrite=overwrite, dry_run=True, original=original)
    jobs, _dirs = run.plan(selected)
    new = [j for j in jobs if not j.replace]
    replaced = [j for j in jobs if j.replace]
    return RestorePreview(
        destinations=tuple(sorted(set(bases.values()))),
        live=tuple(live_folders_touched(snap, bases, live)),
        new_files=len(new), new_bytes=sum(int(j.node["size"]) for j in new),
        replaced=tuple(j.rel for j in replaced), replaced_bytes=sum(int(j.node["size"]) for j in replaced),
        unchanged=run.state.unchanged, problems=tuple(run.state.problems),
    )


def restore(
    repo: Repository,
    snap: Snapshot,
    target: str | None = None,
    *,
    paths: tuple[str, ...] = (),
    verify: bool = False,
    original: bool = False,
    overwrite: bool = False,
    confirm: str | None = None,
    live: tuple[str, ...] = (),
    on_event: EventSink = ignore_events,
    cancel: threading.Event | None = None,
) -> RestoreResult:
    """Restore the snapshot's folders (or the chosen ``paths``) into ``target``, or with ``original``
    back where they were backed up from.

    Writing into a live folder (one the snapshot was taken from, or one of
    ``live``) needs ``overwrite`` and ``confirm`` set to that folder's path.
    With ``overwrite``, files that differ from the backup are replaced and their
    current versions kept aside (see the module's docstring).
    """
    selected, bases = _selection(repo, snap, target, paths, original)
    _check_live(live_folders_touched(snap, bases, live), overwrite, confirm)
    if target is not None:
        if os.path.lexists(target) and not os.path.isdir(target):
            raise UsageError(f"'{target}' is a file, not a folder: choose a folder to restore into.")
        os.makedirs(target, exist_ok=True)
    run = Restorer(repo, snap, bases, verify=verify, on_event=on_event, cancel=cancel or threading.Event(),
                   overwrite=overwrite, original=original)
    jobs, dirs = run.plan(selected)
    run.write_files(jobs)
    for path, node in reversed(dirs):  # children first, so writing does not touch the time again
        _apply_metadata(path, node)
    run.progress.tick(force=True)
    s = run.state
    duration = time.monotonic() - run._started
    on_event(RestoreFinished(s.files, s.bytes, len(s.problems), verify, duration))
    return RestoreResult(s.files, s.bytes, tuple(s.problems), s.damaged, duration, s.replaced, s.unchanged,
                         tuple(sorted(run.kept.values())))
