"""Writing restored files: worker threads, temporary names, and putting files in place.

Each file is written whole by one worker thread (read, decrypt and check each chunk, write),
several files at once: file writes go faster from several threads, and a worker that both
opens chunks and writes keeps the GIL hand-overs few. The main thread only hands out files,
counts what came back and reports progress and problems.

A file is written under its temporary name (:func:`.journal.partial_path`), given its dates
and mode, checked when ``--verify`` asks, and only then renamed to its real name: whatever
happens meanwhile (damage, a full disk, Ctrl+C, a crash), no real name ever holds a file that
is not whole. A ``direct`` file (a new one, in a folder nobody works in) is written under its
real name instead, after its name was appended to the journal, and dated last: until then it
is recognisably unfinished (see :mod:`.journal`); on damage or Ctrl+C it is removed. A file replaced in overwrite mode is first hard-linked into the folder that keeps
replaced versions and then replaced in one step (``os.replace``), so the live folder always
holds either its previous version or the backup's; where the disk has no hard links it is
moved aside first (a crash at that instant leaves it missing from the live folder, never
half-written, and kept).
"""
from __future__ import annotations

import io
import itertools
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from ..errors import OdbackupError
from ..repository.records import TreeNode
from ..repository.repo import Repository
from ..repository.storage import RangeReader
from .journal import partial_path

WORKERS = 4
"""Files written at once (each by one thread: read, decrypt, check, write)."""
IN_FLIGHT = 16 * WORKERS


@dataclass
class FileJob:
    """One file to write. ``replace``: someone else's file stands there (overwrite mode);
    ``own``: this restore's own file from an earlier run stands there, not whole, so it is
    written again; ``check``: that file looks whole and ``--verify`` reads it back first."""

    rel: str
    dest: str
    node: TreeNode
    base: str
    replace: bool = False
    own: bool = False
    check: bool = False
    direct: bool = False
    temp: str = ""
    handle: object = None


@dataclass(frozen=True)
class Outcome:
    """How one file ended (made in a worker, counted in the main thread). ``kept``: an own file
    of an earlier run read back whole (``check``); ``rewritten``: read back, it was not, and was
    written again."""

    job: FileJob
    written: bool
    replaced: bool = False
    reason: str | None = None
    damage: bool = False
    kept: bool = False
    rewritten: bool = False


class FileWriter:
    """Writes files with :data:`WORKERS` threads; ``keep_root(base)`` names the folder where
    replaced files of ``base`` are kept, ``on_bytes(job, n)`` counts bytes as they are written,
    ``on_start(jobs)`` records direct files in the journal before they are handed to a worker."""

    def __init__(self, repo: Repository, *, verify: bool, cancel: threading.Event,
                 keep_root: Callable[[str], str], on_bytes: Callable[[FileJob, int], None],
                 on_start: Callable[[list[FileJob]], None]) -> None:
        self.repo, self.verify, self.cancel = repo, verify, cancel
        self.keep_root, self.on_bytes, self.on_start = keep_root, on_bytes, on_start
        self.kept: dict[str, str] = {}
        """base -> the folder where replaced files of that base were kept."""
        self._local = threading.local()
        self._readers: list[RangeReader] = []

    def run(self, jobs: list[FileJob], settle: Callable[[Outcome], None], tick: Callable[[], None]) -> None:
        """Write every job; ``settle`` each outcome and ``tick`` (which may raise Cancelled) in
        this thread. Files in flight when it stops are finished or discarded, never left half.

        Finished files come back through a queue (each future puts itself there when done):
        waiting on the set of files in flight instead locks every one of them at each wait,
        which made the main thread and the workers take turns on the GIL about 27 times per
        restored file."""
        stop = threading.Event()
        pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="odbackup-restore")
        pending: set[Future[Outcome]] = set()
        finished: queue.SimpleQueue[Future[Outcome]] = queue.SimpleQueue()
        jobs_left = iter(jobs)
        try:
            while True:
                batch = list(itertools.islice(jobs_left, IN_FLIGHT - len(pending)))
                self.on_start([job for job in batch if job.direct])  # one journal write per batch
                for job in batch:
                    future = pool.submit(self._write_file, job, stop)
                    pending.add(future)
                    future.add_done_callback(finished.put)
                if not pending:
                    break
                for future in _came_back(finished, timeout=0.25):
                    pending.discard(future)
                    settle(future.result())
                tick()
        finally:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            for reader in self._readers:
                reader.close()
            for future in pending:  # finished while stopping: count what made it
                if future.done() and not future.cancelled() and future.exception() is None:
                    settle(future.result())

    def _write_file(self, job: FileJob, stop: threading.Event) -> Outcome:
        """In a worker: the whole file under its temporary name (a direct one under its real
        name), each chunk checked before a byte of it is written, then put in place."""
        rewritten = False
        try:
            if job.check:
                if self._matches(job.dest, job.node):
                    return Outcome(job, written=False, kept=True)
                job.own = rewritten = True  # whole by size and time, but other bytes
            self._open(job)
            reader = self._reader()
            for cid, _size in job.node.content or ():
                if stop.is_set() or self.cancel.is_set():
                    self._discard(job)
                    return Outcome(job, written=False)
                data = self.repo.read_blob(bytes.fromhex(cid), reader)
                _write_all(job.handle, data)  # type: ignore[arg-type]
                self.on_bytes(job, len(data))
            return self._finish(job, rewritten)
        except FileExistsError:  # direct: someone else's file appeared at its name meanwhile
            return Outcome(job, written=False, reason="appeared in the restore folder meanwhile; not overwritten")
        except OdbackupError as exc:
            self._discard(job)
            return Outcome(job, written=False, reason=f"not restored: {exc}", damage=True)
        except OSError as exc:
            self._discard(job)
            return Outcome(job, written=False, reason=f"not restored: {exc.strerror or exc}")

    def _reader(self) -> RangeReader:
        """This worker thread's reader (pack files kept open between its blobs)."""
        reader = getattr(self._local, "reader", None)
        if reader is None:
            reader = self._local.reader = RangeReader(self.repo.backend)
            self._readers.append(reader)
        return reader

    def _open(self, job: FileJob) -> None:
        if job.direct:  # marked started in the journal already: unfinished from here until dated
            job.handle = open(job.dest, "xb", buffering=0)  # noqa: SIM115 - closed in _finish/_discard
            job.temp = job.dest
            return
        job.temp = partial_path(job.dest)
        try:
            job.handle = open(job.temp, "xb", buffering=0)  # noqa: SIM115 - closed in _finish/_discard
        except FileExistsError:
            if os.path.islink(job.temp) or not os.path.isfile(job.temp):
                raise
            os.remove(job.temp)  # partly written by a run that was cut short
            job.handle = open(job.temp, "xb", buffering=0)  # noqa: SIM115

    def _discard(self, job: FileJob) -> None:
        if job.handle is not None:
            job.handle.close()  # type: ignore[attr-defined]
            job.handle = None
        if job.temp and os.path.lexists(job.temp):
            os.remove(job.temp)

    def _finish(self, job: FileJob, rewritten: bool) -> Outcome:
        """Whole: dates and mode, the check if asked, then the real name."""
        job.handle.close()  # type: ignore[attr-defined]
        job.handle = None
        if job.direct:
            return self._finish_direct(job)
        apply_metadata(job.temp, job.node)
        if self.verify and not self._matches(job.temp, job.node):
            os.remove(job.temp)
            return Outcome(job, written=False, damage=True,
                           reason="verification failed: the file written differs from the backup; not restored")
        if not (job.replace or job.own) and os.path.lexists(job.dest):
            os.remove(job.temp)
            return Outcome(job, written=False, reason="appeared in the restore folder meanwhile; not overwritten")
        try:
            if job.replace:
                self._put_in_place(job)
            else:
                os.replace(job.temp, job.dest)
        except OSError as exc:
            os.remove(job.temp)
            return Outcome(job, written=False, reason=f"not replaced: {exc.strerror or exc} (the file on disk "
                                                      "was kept)")
        return Outcome(job, written=True, replaced=job.replace, rewritten=rewritten)

    def _finish_direct(self, job: FileJob) -> Outcome:
        if self.verify and not self._matches(job.dest, job.node):
            os.remove(job.dest)
            return Outcome(job, written=False, damage=True,
                           reason="verification failed: the file written differs from the backup; not restored")
        apply_metadata(job.dest, job.node)  # last: the backup's time says it is whole
        return Outcome(job, written=True)

    def _put_in_place(self, job: FileJob) -> None:
        """Keep the file on disk in the kept folder, then put the restored one in its place."""
        keep_root = self.keep_root(job.base)
        kept = os.path.join(keep_root, os.path.relpath(job.dest, job.base))
        os.makedirs(os.path.dirname(kept), exist_ok=True)
        self.kept[job.base] = keep_root
        if os.path.lexists(kept) and not _same_file(kept, job.dest):
            kept = _free_name(kept)  # a version kept before, then the file changed again
        if not os.path.lexists(kept):
            try:
                os.link(job.dest, kept)
            except OSError:  # no hard links on this disk (FAT, exFAT, some shares)
                _move_aside_and_place(job.dest, kept, job.temp)
                return
        try:
            os.replace(job.temp, job.dest)  # one step: the previous version or the backup's, never neither
        except OSError:  # e.g. a read-only file on Windows, which can be moved but not replaced
            os.remove(kept)
            _move_aside_and_place(job.dest, kept, job.temp)

    def _matches(self, path: str, node: TreeNode) -> bool:
        """Does the file at ``path`` hold exactly the backup's bytes (every chunk against its ID)?"""
        with open(path, "rb") as f:
            for cid, size in node.content or ():
                piece = f.read(int(size))
                if len(piece) != int(size) or self.repo.ids.blob_id("data", piece).hex() != cid:
                    return False
            return f.read(1) == b""


def _write_all(handle: io.RawIOBase, data: bytes) -> None:
    """Write all of ``data`` to an unbuffered file (a raw write may take only part of it).
    Chunks are large, so Python's buffer only cost two system calls per file (``isatty`` and
    ``lseek`` when it is opened)."""
    view = memoryview(data)
    while view:
        written = handle.write(view)
        if not written:  # None: only for non-blocking files, which these are not
            raise OSError("the file took no bytes")
        view = view[written:]


def _came_back(finished: queue.SimpleQueue[Future[Outcome]], timeout: float) -> list[Future[Outcome]]:
    """The files done so far: waits up to ``timeout`` for the first, then takes what else is there."""
    try:
        done = [finished.get(timeout=timeout)]
    except queue.Empty:
        return []
    while True:
        try:
            done.append(finished.get_nowait())
        except queue.Empty:
            return done


def _move_aside_and_place(dest: str, kept: str, temp: str) -> None:
    os.replace(dest, kept)
    try:
        os.replace(temp, dest)
    except OSError:
        os.replace(kept, dest)  # put the original back
        raise


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _free_name(path: str) -> str:
    for n in range(1, 10_000):
        candidate = f"{path}.{n}"
        if not os.path.lexists(candidate):
            return candidate
    raise FileExistsError(f"no free name beside '{path}'")


def apply_metadata(path: str, node: TreeNode) -> None:
    """The backup's mode (where the disk has modes) and modification time."""
    try:
        os.chmod(path, node.mode)
    except OSError:
        pass  # e.g. a FAT/exFAT USB drive: modes do not exist there
    mtime = node.mtime_ns
    os.utime(path, ns=(mtime, mtime))
