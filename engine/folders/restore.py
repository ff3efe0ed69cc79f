"""Restoring folders from a snapshot into a target folder.

Safety first. Nothing is written into a folder the snapshot was taken from
(a "live" folder: the A to Z images folder the office works in), or into a
folder that holds one, unless the caller asked to overwrite and typed that
folder's full path to confirm. Every name is checked (no ``..``, separators,
drive letters or Windows device names) and every path must stay inside the
folder it is restored into. An existing file is never overwritten, except in
overwrite mode, where a file that differs from the backup's is replaced and
its current version is first kept in a sibling folder
(``<folder>.odbackup-replaced-<time>``, a hard link where the disk has them,
so the live file is replaced in one step): nothing is deleted, and files that
are not in the backup are left alone. In a live folder every file is written
under a temporary name and renamed, dates and mode set, only when every chunk
decrypted and matched its ID, so neither a damaged backup nor a crash ever
leaves wrong or half-written bytes under a real name there; in a folder nobody
works in, a new file is written under its real name and dated last (the
journal says which are unfinished). A journal beside the folder lists what the
restore creates, so running the same restore again after a crash finishes it
(see :mod:`.journal`). Worker threads write several files at once, each file
whole by one thread (:mod:`.writer`).

:func:`preview` answers, without writing anything, exactly what a restore
would create and replace.
"""
from __future__ import annotations

import os
import re
import stat
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from ..errors import Cancelled, OdbackupError, UnsafePath, UsageError
from ..events import (
    EventSink,
    RestoreFinished,
    RestoreProblem,
    RestoreProgress,
    RestoreResumed,
    RestoreStarted,
    ignore_events,
)
from ..progress import Throttle
from ..repository.records import TreeNode
from ..repository.repo import Repository
from ..repository.snapshot import Snapshot
from . import journal as journals
from .browse import Entry, children, find, roots
from .journal import PARTIAL as PARTIAL  # re-exported: the name the tests and callers know
from .journal import Journal, partial_path
from .writer import FileJob, FileWriter, Outcome, apply_metadata

REPLACED = ".odbackup-replaced-"
_WINDOWS_DEVICES = re.compile(r"^(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\..*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class RestoreResult:
    """What was restored; ``problems`` lists (path, reason).

    In overwrite mode ``replaced`` files had another version on disk, which was
    moved into one of the ``kept_in`` folders; ``unchanged`` files were already
    as in the backup (same size and modification time) and were not rewritten.
    A ``resumed`` restore finished one cut short: ``already_complete`` files it
    had written were whole and kept, ``rewritten`` ones (partly written, or not
    whole) were written again; ``files`` counts what this run wrote.
    """

    files: int
    bytes: int
    problems: tuple[tuple[str, str], ...]
    damaged: bool
    duration: float
    replaced: int = 0
    unchanged: int = 0
    kept_in: tuple[str, ...] = ()
    resumed: bool = False
    already_complete: int = 0
    rewritten: int = 0


@dataclass(frozen=True)
class RestorePreview:
    """What a restore would do, found without writing anything.

    ``live`` names the live folders it would write into (those need overwrite
    mode and the folder's path typed to confirm); ``replaced`` lists the
    snapshot paths of files on disk that would be replaced (and kept aside).
    ``unfinished`` names the journals of an unfinished restore it would finish
    (``already_complete`` files of it are kept).
    """

    destinations: tuple[str, ...]
    live: tuple[str, ...]
    new_files: int
    new_bytes: int
    replaced: tuple[str, ...]
    replaced_bytes: int
    unchanged: int
    problems: tuple[tuple[str, str], ...]
    unfinished: tuple[str, ...] = ()
    already_complete: int = 0


@dataclass
class _State:
    files: int = 0
    bytes: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)
    damaged: bool = False
    current: str = ""
    replaced: int = 0
    unchanged: int = 0
    already_complete: int = 0
    rewritten: int = 0
    checked: int = 0
    """Kept files read back whole (--verify): done, though not written."""


@dataclass
class _Plan:
    """What a restore will create, found before anything is written: folders (parents first,
    each with its snapshot node or None), links, files, and the folders whose dates it sets."""

    dirs: list[tuple[str, TreeNode | None]] = field(default_factory=list)
    links: list[tuple[Entry, str]] = field(default_factory=list)
    jobs: list[FileJob] = field(default_factory=list)
    dated: list[tuple[str, TreeNode]] = field(default_factory=list)
    created: dict[str, set[str]] = field(default_factory=dict)
    """base -> the snapshot paths of what will be created there (for its journal)."""

    def creates(self, base: str, rel: str) -> None:
        self.created.setdefault(base, set()).add(rel)


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
    assert snap.body is not None, "open_body first"
    for source in snap.body.folders:
        if source.name in roots:
            if original:
                found[source.name] = os.path.abspath(source.path)
            else:
                assert target is not None
                if not safe_name(source.name):
                    raise UnsafePath(f"The snapshot names a folder '{source.name}', which is not a safe name.")
                found[source.name] = os.path.join(os.path.abspath(target), source.name)
    return found


def live_folders_touched(snap: Snapshot, bases: dict[str, str], live: tuple[str, ...] = ()) -> list[str]:
    """The live folders (the snapshot's sources, plus ``live``) a restore into ``bases`` would write into."""
    assert snap.body is not None, "open_body first"
    candidates = [s.path for s in snap.body.folders] + list(live)
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
                 dry_run: bool = False, original: bool = False, direct: bool = False) -> None:
        self.repo, self.snap, self.verify = repo, snap, verify
        self.original, self.direct = original, direct
        self.bases = bases
        self.overwrite, self.dry_run = overwrite, dry_run
        self.on_event, self.cancel = on_event, cancel
        self.state = _State()
        self.journals: dict[str, Journal] = {}
        """base -> the journal of this restore into it."""
        self._logs: dict[str, journals.StartLog] = {}
        self._planned: set[str] = set()
        self._inside_seen: dict[tuple[str, str], bool] = {}
        """(base, folder) -> :func:`_inside` while planning: every file of a folder asks the same."""
        self._count_lock = threading.Lock()
        self._started = time.monotonic()
        self._totals = (0, 0)
        self.progress = Throttle(self._progress_event, on_event)
        self.writer = FileWriter(repo, verify=verify, cancel=cancel, keep_root=self._keep_root,
                                 on_bytes=self._count, on_start=self._mark_started)

    def _progress_event(self) -> RestoreProgress:
        s = self.state
        return RestoreProgress(s.files + s.checked, s.bytes, self._totals[0], self._totals[1], s.current,
                               time.monotonic() - self._started)

    def problem(self, rel: str, reason: str, *, damage: bool = False) -> None:
        self.state.problems.append((rel, reason))
        self.state.damaged |= damage
        if not self.dry_run:
            self.on_event(RestoreProblem(rel, reason))

    # --- the journals: what this restore creates, and what an earlier run of it did --------------

    def open_journals(self, selected: list[Entry]) -> None:
        """This restore's journal for each folder; an unfinished one on disk must be of this same
        restore (else :class:`UnsafePath`), and what it lists counts as this restore's own."""
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        for root, base in self.bases.items():
            chosen = tuple(sorted(e.path for e in selected if e.path.split("/")[0] == root))
            wanted = Journal(journals.journal_path(base), self.snap.snapshot_id, chosen, self.overwrite, stamp)
            found = journals.read(wanted.path)
            if found is not None:
                journals.check_same(found, wanted)
                wanted = found
            self.journals[base] = wanted

    def _own(self, rel: str, base: str) -> bool:
        return rel in self.journals[base].own

    def _keep_root(self, base: str) -> str:
        return f"{base.rstrip(os.sep + '/')}{REPLACED}{self.journals[base].stamp}"

    def write_journals(self, plan: _Plan) -> None:
        """Before anything is created: list it in each folder's journal (the resumed ones too)."""
        for base, journal in self.journals.items():
            created = plan.created.get(base, set())
            if journal.resumed or created or any(j.base == base for j in plan.jobs):
                journal.own |= created
                journals.write(journal)
                self._logs[base] = journals.StartLog(journal)

    def _mark_started(self, jobs: list[FileJob]) -> None:
        """Direct files about to be written: marked started in their journals first."""
        for base, log in self._logs.items():
            rels = [job.rel for job in jobs if job.base == base]
            if rels:
                log.started(rels)

    def close_logs(self) -> None:
        for log in self._logs.values():
            log.close()
        self._logs.clear()

    def close_journals(self) -> None:
        """Everything was gone through: no folder looks unfinished any more."""
        for journal in self.journals.values():
            journals.remove(journal)

    # --- planning: folders, links and the list of files (nothing is written) ----------------------

    def plan(self, selected: list[Entry]) -> _Plan:
        """Find every folder, link and file to create; nothing is written."""
        plan = _Plan()
        for entry in selected:
            parts = entry.path.split("/")
            base = self.bases[parts[0]]
            parent = self._make_base(base, entry.node if len(parts) == 1 else None, plan)
            if len(parts) == 1:
                if parent is not None:
                    self._plan_children(entry, parent, base, plan)
                continue
            for part in parts[1:-1]:
                if parent is None:
                    break
                parent = self._mkdir(parent, part, base, None, plan)
            if parent is not None:
                self._plan_entry(entry, parent, base, plan)
        return plan

    def _rel(self, path: str, base: str) -> str:
        """``path`` (below ``base``) as a path in the snapshot."""
        root = next(name for name, b in self.bases.items() if b == base)
        rel = os.path.relpath(path, base).replace(os.sep, "/")
        return root if rel == "." else f"{root}/{rel}"

    def _inside(self, base: str, folder: str) -> bool:
        """:func:`_inside`, asked once per folder while planning (it resolves every component of
        both paths: about 16 ``lstat`` calls each time, the main cost of planning before)."""
        key = (base, folder)
        found = self._inside_seen.get(key)
        if found is None:
            found = self._inside_seen[key] = _inside(base, folder)
        return found

    def _is_dir(self, path: str) -> bool:
        return path in self._planned or os.path.isdir(path)

    def _make_base(self, base: str, node: TreeNode | None, plan: _Plan) -> str | None:
        if os.path.islink(base) and not self.original:
            self.problem(self._rel(base, base), "a link already stands where a folder goes; "
                         "nothing was written through it")
            return None
        if os.path.lexists(base) and not os.path.isdir(base):
            self.problem(self._rel(base, base), f"'{base}' is a file, not a folder; nothing was restored there")
            return None
        self._plan_dir(base, node, base, plan)
        return base

    def _plan_dir(self, path: str, node: TreeNode | None, base: str, plan: _Plan) -> None:
        """A folder to create, or one an earlier run of this restore created: both get the backup's
        dates; other existing folders stay as they are."""
        if self._is_dir(path):
            if node is not None and path not in self._planned and self._own(self._rel(path, base), base):
                plan.dated.append((path, node))
            return
        self._planned.add(path)
        plan.dirs.append((path, node))
        if node is not None:
            plan.dated.append((path, node))
            plan.creates(base, self._rel(path, base))

    def _mkdir(self, parent: str, name: str, base: str, node: TreeNode | None, plan: _Plan) -> str | None:
        path = os.path.join(parent, name)
        if not safe_name(name):
            self.problem(name, "refused: unsafe name", damage=True)
            return None
        if os.path.islink(path):
            self.problem(self._rel(path, base), "a link already stands where a folder goes; "
                         "nothing was written through it")
            return None
        if not self._inside(base, path):
            self.problem(name, "refused: the path would land outside the restore folder", damage=True)
            return None
        if os.path.lexists(path) and not os.path.isdir(path):
            self.problem(self._rel(path, base), "a file already stands where a folder goes; "
                         "it was kept and the folder's contents were not restored")
            return None
        self._plan_dir(path, node, base, plan)
        return path

    def _plan_children(self, entry: Entry, where: str, base: str, plan: _Plan) -> None:
        try:
            kids = children(self.repo, entry)
        except OdbackupError as exc:
            self.problem(entry.path, f"folder contents not restored: {exc}", damage=True)
            return
        for kid in kids:
            self._plan_entry(kid, where, base, plan)

    def _plan_entry(self, entry: Entry, parent: str, base: str, plan: _Plan) -> None:
        stack = [(entry, parent)]
        while stack:
            self._check_cancel()
            current, where = stack.pop()
            name = current.node.name
            dest = os.path.join(where, name)
            if not safe_name(name) or not self._inside(base, where):
                self.problem(current.path, "refused: the name would land outside the restore folder", damage=True)
                continue
            kind = current.type
            if kind == "dir":
                made = self._mkdir(where, name, base, current.node, plan)
                if made is None:
                    continue
                try:
                    kids = children(self.repo, current)
                except OdbackupError as exc:
                    self.problem(current.path, f"folder contents not restored: {exc}", damage=True)
                    continue
                stack.extend((c, made) for c in reversed(kids))
            elif kind == "file":
                self._plan_file(current, dest, base, plan)
            elif kind == "symlink":
                self._plan_link(current, dest, base, plan)

    def _plan_link(self, entry: Entry, dest: str, base: str, plan: _Plan) -> None:
        if not os.path.lexists(dest):
            plan.links.append((entry, dest))
            plan.creates(base, entry.path)
        elif not (self._own(entry.path, base) and os.path.islink(dest)):
            self.problem(entry.path, "already exists in the restore folder; not overwritten")
        elif os.readlink(dest) != entry.node.target:
            plan.links.append((entry, dest))  # this restore's own, cut short: made again

    def _plan_file(self, entry: Entry, dest: str, base: str, plan: _Plan) -> None:
        jobs = plan.jobs
        if not os.path.lexists(dest):
            if self._own(entry.path, base) and os.path.lexists(partial_path(dest)):
                self.state.rewritten += 1  # partly written before a crash
            jobs.append(FileJob(entry.path, dest, entry.node, base, direct=self.direct))
            plan.creates(base, entry.path)
        elif self._own(entry.path, base) and self._plan_own_file(entry, dest, base, jobs):
            pass
        elif not self.overwrite:
            self.problem(entry.path, "already exists in the restore folder; not overwritten")
        elif os.path.islink(dest) or not os.path.isfile(dest):
            self.problem(entry.path, "something other than a file stands there; it was kept")
        elif _looks_whole(dest, entry.node):
            self.state.unchanged += 1
        else:
            jobs.append(FileJob(entry.path, dest, entry.node, base, replace=True))

    def _plan_own_file(self, entry: Entry, dest: str, base: str, jobs: list[FileJob]) -> bool:
        """A file of the journal stands there. Is it this restore's own? Whole (the backup's size
        and time, which it gets last): kept, read back first with ``--verify``. Marked started, or
        with the backup's time to the nanosecond but another size (a power cut): unfinished,
        written again. Otherwise someone else put it there: False (never overwritten as own)."""
        st = os.lstat(dest)
        if not stat.S_ISREG(st.st_mode):
            return False
        dated = st.st_mtime_ns == entry.node.mtime_ns
        if dated and st.st_size == entry.node.size:
            if self.verify:
                jobs.append(FileJob(entry.path, dest, entry.node, base, check=True))
            else:
                self.state.already_complete += 1
        elif dated or entry.path in self.journals[base].started:
            self.state.rewritten += 1
            jobs.append(FileJob(entry.path, dest, entry.node, base, own=True))
        else:
            return False
        return True

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("The restore was cancelled; files already restored stay in place. "
                            "Run the same restore again to finish it.")

    # --- creating: folders, links, then the files ---------------------------------------------

    def create(self, plan: _Plan) -> None:
        """Journals first, then folders and links, then the files; the folders' dates last."""
        self.write_journals(plan)
        try:
            resumed = [j.path for j in self.journals.values() if j.resumed]
            if resumed:
                checks = sum(j.check for j in plan.jobs)
                self.on_event(RestoreResumed(tuple(resumed), self.state.already_complete + checks,
                                             self.state.rewritten, checks))
            for path, _node in plan.dirs:
                os.makedirs(path, exist_ok=True)
            for entry, dest in plan.links:
                self._symlink(entry, dest)
            self.write_files(plan.jobs)
        finally:
            self.close_logs()
        for path, node in reversed(plan.dated):  # children first, so writing does not touch the time again
            apply_metadata(path, node)
        self.close_journals()

    def _symlink(self, entry: Entry, dest: str) -> None:
        try:
            if os.path.islink(dest):
                os.remove(dest)  # this restore's own, pointing elsewhere: made again
            os.symlink(str(entry.node.target), dest)
        except OSError as exc:  # e.g. Windows without the symlink privilege
            self.problem(entry.path, f"link not created: {exc.strerror or exc}")

    def write_files(self, jobs: list[FileJob]) -> None:
        self._totals = (len(jobs), sum(j.node.size or 0 for j in jobs if not j.check))
        self.on_event(RestoreStarted(self.snap.snapshot_id, ", ".join(sorted(set(self.bases.values()))),
                                     *self._totals))
        self.writer.run(jobs, self._settle, self._tick)

    def _tick(self) -> None:
        self.progress.tick()
        self._check_cancel()

    def _count(self, job: FileJob, written: int) -> None:
        with self._count_lock:
            self.state.bytes += written
        self.state.current = job.rel

    def _settle(self, outcome: Outcome) -> None:
        """In the main thread: count a file that came back, report its problem."""
        s = self.state
        s.files += outcome.written
        s.replaced += outcome.replaced
        s.already_complete += outcome.kept
        s.checked += outcome.kept
        s.rewritten += outcome.rewritten
        if outcome.reason:
            self.problem(outcome.job.rel, outcome.reason, damage=outcome.damage)

    @property
    def kept(self) -> dict[str, str]:
        """base -> the folder where replaced files of that base were kept."""
        return self.writer.kept


def _looks_whole(path: str, node: TreeNode) -> bool:
    """Same size and modification time as in the backup."""
    st = os.stat(path)
    return st.st_size == node.size and st.st_mtime_ns == node.mtime_ns


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
    run.open_journals(selected)
    jobs = run.plan(selected).jobs
    new = [j for j in jobs if not j.replace]
    replaced = [j for j in jobs if j.replace]
    return RestorePreview(
        destinations=tuple(sorted(set(bases.values()))),
        live=tuple(live_folders_touched(snap, bases, live)),
        new_files=len(new), new_bytes=sum(j.node.size or 0 for j in new),
        replaced=tuple(j.rel for j in replaced), replaced_bytes=sum(j.node.size or 0 for j in replaced),
        unchanged=run.state.unchanged, problems=tuple(run.state.problems),
        unfinished=tuple(j.path for j in run.journals.values() if j.resumed),
        already_complete=run.state.already_complete,
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
    current versions kept aside (see the module's docstring). Cut short (a crash,
    ``cancel``), the same call finishes it: see :mod:`.journal`.
    """
    selected, bases = _selection(repo, snap, target, paths, original)
    _check_live(live_folders_touched(snap, bases, live), overwrite, confirm)
    if target is not None:
        if os.path.lexists(target) and not os.path.isdir(target):
            raise UsageError(f"'{target}' is a file, not a folder: choose a folder to restore into.")
        os.makedirs(target, exist_ok=True)
    touched = live_folders_touched(snap, bases, live)
    run = Restorer(repo, snap, bases, verify=verify, on_event=on_event, cancel=cancel or threading.Event(),
                   overwrite=overwrite, original=original, direct=not touched)
    run.open_journals(selected)
    run.create(run.plan(selected))
    run.progress.tick(force=True)
    s = run.state
    duration = time.monotonic() - run._started
    resumed = any(j.resumed for j in run.journals.values())
    on_event(RestoreFinished(s.files, s.bytes, len(s.problems), verify, duration, resumed, s.already_complete,
                             s.rewritten))
    return RestoreResult(s.files, s.bytes, tuple(s.problems), s.damaged, duration, s.replaced, s.unchanged,
                         tuple(sorted(run.kept.values())), resumed, s.already_complete, s.rewritten)
