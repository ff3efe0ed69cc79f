"""Restore: pick a snapshot by date, browse it (databases and tables, folders and files),
restore a database under a new name or files into a chosen folder."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, Input, ProgressBar, Select, Static, Tree
from textual.widgets.tree import TreeNode
from textual.worker import get_current_worker

from engine import events as ev
from engine.errors import OdbackupError
from engine.folders import browse
from engine.folders.restore import RestorePreview, RestoreResult, preview
from engine.progress import Eta
from engine.repository import records
from engine.repository.records import DatabaseSource, FolderSource
from engine.repository.repo import Repository
from engine.repository.snapshot import Snapshot

from ..joblog import JobLog
from ..messages import JobDone, JobFailed
from ..widgets import fmt
from ..widgets.choices import Field, Picker
from ..widgets.panels import InfoPanel
from .common import JobScreen, open_repo, post_events
from .restore_dialogs import (
    DatabaseRequest,
    FilesRequest,
    RestoreDatabaseDialog,
    RestoreFilesDialog,
)

if TYPE_CHECKING:
    from engine.database.restore import DatabaseRestoreResult


@dataclass(frozen=True)
class Item:
    """What a tree node stands for: ``kind`` is databases, database, table, folders, dir, file."""

    kind: str
    name: str
    entry: browse.Entry | None = None
    source: DatabaseSource | None = None
    node: records.TreeNode | records.TableNode | None = None


def load(settings: Any, secret: str | None) -> tuple[Repository, list[Snapshot]]:
    repo = open_repo(settings.repository, full=True, secret=secret)
    return repo, list(reversed(repo.snapshots()))


def load_archived(repo: Repository) -> dict[str, tuple[Repository, Snapshot, str]]:
    """The snapshots of the archive drives plugged in that ``repo`` no longer (or never) held:
    snapshot ID -> (the drive's repository, the snapshot, the drive's label)."""
    from engine.archive.at import archives_present

    have = {s.snapshot_id for s in repo.snapshots()}
    found: dict[str, tuple[Repository, Snapshot, str]] = {}
    for where, archive in archives_present(repo):
        for snap in archive.snapshots():
            if snap.snapshot_id not in have and snap.snapshot_id not in found:
                found[snap.snapshot_id] = (archive, snap, where.label)
    return found


def describe(item: Item) -> str:
    """One line about the highlighted item."""
    if item.kind == "database" and item.source:
        s = item.source
        return (f"Database {s.name} from {s.server}: {fmt.count(s.tables, 'table')}, "
                f"{s.rows:,} rows, {fmt.size(s.bytes)}. Press d to restore it.")
    if item.kind == "table" and isinstance(item.node, records.TableNode):
        return f"Table {item.name}: {item.node.rows:,} rows, {fmt.size(item.node.bytes)}. Press d to " \
               "restore its database."
    if item.kind == "file" and isinstance(item.node, records.TreeNode):
        when = fmt.local(datetime.fromtimestamp(item.node.mtime_ns / 1e9, UTC))
        return f"File {item.entry.path if item.entry else item.name}: {fmt.size(item.node.size or 0)}, " \
               f"changed {when}. Press f to restore it."
    if item.kind in ("dir", "folders"):
        what = item.entry.path if item.entry else "every folder"
        return f"{what}: press f to restore it (and everything below it)."
    return "Databases: open one with Enter, then press d to restore it."


class RestoreScreen(JobScreen):
    """Browse a snapshot and restore from it."""

    BINDINGS = [
        Binding("d", "restore_database", "Restore database"),
        Binding("f", "restore_files", "Restore files"),
        Binding("escape", "back", "Back"),
    ]

    @dataclass
    class Loaded(JobDone):
        """The repository is open; its snapshots, newest first."""

        repo: Repository
        snapshots: list[Snapshot]

    @dataclass
    class ArchivesLoaded(JobDone):
        """The snapshots only the archive drives plugged in hold (see :func:`load_archived`)."""

        archived: dict[str, tuple[Repository, Snapshot, str]]

    @dataclass
    class Found(JobDone):
        """The snapshot of the date typed (None: the repository closed meanwhile)."""

        snapshot: Snapshot | None

    @dataclass
    class FolderRead(JobDone):
        """What a folder of the snapshot holds, for its tree node."""

        node: TreeNode[Item]
        entries: list[browse.Entry]

    @dataclass
    class TablesRead(JobDone):
        """The tables of a database in the snapshot, for its tree node."""

        node: TreeNode[Item]
        tables: list[records.TableNode]

    @dataclass
    class DatabaseRestored(JobDone):
        """A database was restored."""

        result: DatabaseRestoreResult

    @dataclass
    class FilesRestored(JobDone):
        """Files were restored as ``request`` asked."""

        request: FilesRequest
        result: RestoreResult

    def __init__(self, snapshot_id: str | None = None) -> None:
        super().__init__()
        self.wanted = snapshot_id
        self.repo: Repository | None = None
        """The repository of the chosen snapshot (the main one, or an archive drive)."""
        self.main: Repository | None = None
        self.snapshots: list[Snapshot] = []
        self.archived: dict[str, tuple[Repository, Snapshot, str]] = {}
        self.running = False
        self.eta = Eta()

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="restore-pick", classes="form-row"):
            yield Picker([], id="snapshot", prompt="Reading the snapshots...", compact=True)
            yield Field("", id="when", placeholder="or a date: 2025-06-30 17:00", compact=True)
        yield Tree("Snapshot", id="browse")
        yield Static("", id="selection")
        with Vertical(id="restore-run"):
            yield Static("", id="restore-phase")
            yield ProgressBar(id="restore-progress", show_eta=False)
        yield InfoPanel("Result", id="restore-result")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Restore"
        self.query_one("#restore-run").display = False
        self.query_one("#restore-result").display = False
        settings = self.settings
        self.start_job("load", lambda: self.Loaded(*load(settings, self.app.secret)))

    # --- choosing the snapshot ----------------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot | None:
        value = self.query_one("#snapshot", Select).value
        return next((s for s in self.snapshots if s.snapshot_id == value), None)

    def on_restore_screen_loaded(self, message: Loaded) -> None:
        self.repo, self.main, self.snapshots = message.repo, message.repo, message.snapshots
        self._offer()
        main = message.repo
        if isinstance(main, Repository):
            self.start_job("archived", lambda: self.ArchivesLoaded(load_archived(main)))

    def on_restore_screen_archives_loaded(self, message: ArchivesLoaded) -> None:
        if not message.archived:
            return
        self.archived = message.archived
        own = [s for s in self.snapshots if s.snapshot_id not in self.archived]
        self.snapshots = sorted(own + [snap for _repo, snap, _label in self.archived.values()],
                                key=lambda s: s.time, reverse=True)
        self._offer(self.query_one("#snapshot", Select).value)

    def _offer(self, chosen: object = None) -> None:
        wanted = next((s for s in self.snapshots if s.snapshot_id in (self.wanted, chosen)), None)
        self.query_one("#snapshot", Picker).offer(
            [(self._label(s), s.snapshot_id) for s in self.snapshots],
            wanted.snapshot_id if wanted else None, empty="No snapshots yet")
        if self.snapshots:
            self.query_one("#browse").focus()
        else:
            self.query_one("#selection", Static).update("No snapshots yet: back up first.")

    def _label(self, snap: Snapshot) -> str:
        on_drive = self.archived.get(snap.snapshot_id)
        return f"{fmt.local(snap.time)}  {snap.short_id}" + (f"  (on {on_drive[2]})" if on_drive else "")

    @on(Input.Submitted, "#when")
    def _pick_by_date(self, event: Input.Submitted) -> None:
        if self.repo is None:
            return
        ref = event.value.strip().replace(" ", "T")
        main = self.main

        def find() -> RestoreScreen.Found:
            if main is None:
                return self.Found(None)
            from engine.archive.at import newest_at
            from engine.repository.choosing import parse_moment

            if not self.archived or parse_moment(ref) is None:  # an ID, or no drive plugged in
                return self.Found(main.find_snapshot(ref))
            return self.Found(self._newest_at(main, ref, newest_at))

        self.start_job("find", find)

    def _newest_at(self, main: Repository, ref: str, newest_at: Any) -> Snapshot:
        """The newest snapshot at or before ``ref`` in the main repository or a drive plugged in."""
        from engine.archive.at import Where

        drives = {repo.location: (repo, label) for repo, _snap, label in self.archived.values()}
        candidates = [(Where(main.location), main)] + [(Where(loc, label), repo)
                                                        for loc, (repo, label) in drives.items()]
        return newest_at(ref, candidates).snapshot

    def on_restore_screen_found(self, message: Found) -> None:
        if message.snapshot is not None:
            self.query_one("#snapshot", Select).value = message.snapshot.snapshot_id

    @on(Select.Changed, "#snapshot")
    def _show_snapshot(self) -> None:
        snap = self.snapshot
        tree = self.query_one("#browse", Tree)
        tree.clear()
        if snap is None:
            return
        on_drive = self.archived.get(snap.snapshot_id)
        self.repo = on_drive[0] if on_drive else self.main
        where = f" (on the archive drive '{on_drive[2]}')" if on_drive else ""
        tree.root.set_label(f"Snapshot {snap.short_id} of {fmt.local(snap.time)}{where}")
        tree.root.expand()
        databases = [s for s in snap.sources if isinstance(s, DatabaseSource)]
        if databases:
            node = tree.root.add("Databases", Item("databases", "Databases"), expand=True)
            for source in databases:
                node.add(source.name, Item("database", source.name, source=source), allow_expand=True)
        folders = tree.root.add("Folders", Item("folders", "Folders"), expand=True)
        for entry in browse.roots(self.repo, snap) if self.repo else []:
            folders.add(entry.node.name + "/", Item("dir", entry.node.name, entry=entry), allow_expand=True)
        tree.move_cursor(tree.root)

    # --- browsing -----------------------------------------------------------------------------------------

    @on(Tree.NodeExpanded, "#browse")
    def _expand(self, event: Tree.NodeExpanded) -> None:
        node, item = event.node, event.node.data
        if item is None or node.children or item.kind not in ("dir", "database"):
            return
        repo = self.repo
        entry = item.entry
        if item.kind == "dir" and entry is not None and repo is not None:
            self.start_job(f"children:{node.id}", lambda: self.FolderRead(node, browse.children(repo, entry)))
        elif item.kind == "database" and item.source and repo is not None:
            tree_id = bytes.fromhex(item.source.tree)
            self.start_job(f"children:{node.id}", lambda: self.TablesRead(
                node, list(records.DatabaseTree.from_json(repo.read_tree(tree_id)).tables)))

    def on_restore_screen_folder_read(self, message: FolderRead) -> None:
        for child in message.entries:
            is_dir = child.type == "dir"
            label = child.node.name + ("/" if is_dir else f"  {fmt.size(child.node.size or 0)}")
            message.node.add(label, Item("dir" if is_dir else "file", child.node.name, entry=child,
                                         node=child.node), allow_expand=is_dir)

    def on_restore_screen_tables_read(self, message: TablesRead) -> None:
        for table in message.tables:
            message.node.add_leaf(f"{table.name}  {table.rows:,} rows", Item("table", table.name, node=table))

    @on(Tree.NodeHighlighted, "#browse")
    def _highlighted(self, event: Tree.NodeHighlighted) -> None:
        item = event.node.data
        self.query_one("#selection", Static).update(describe(item) if item else "")

    def _item(self) -> Item | None:
        node = self.query_one("#browse", Tree).cursor_node
        return node.data if node is not None else None

    def _database_of(self, node: TreeNode | None) -> DatabaseSource | None:
        while node is not None:
            if node.data is not None and node.data.kind == "database":
                return node.data.source
            node = node.parent
        return None

    # --- restoring -------------------------------------------------------------------------------------------

    def action_restore_database(self) -> None:
        snap, source = self.snapshot, self._database_of(self.query_one("#browse", Tree).cursor_node)
        if snap is None or self.running:
            return
        if source is None:
            databases = [s for s in snap.sources if isinstance(s, DatabaseSource)]
            if len(databases) != 1:
                self.notify("Highlight a database (or one of its tables) first.", severity="warning")
                return
            source = databases[0]
        settings = self.settings
        live = (f"{settings.database.host}:{settings.database.port}", settings.database.name) \
            if settings.database else None
        self.app.push_screen(RestoreDatabaseDialog(source.name, source.server, source.user or "root",
                                                   snap.time, live), self._run_database)

    def action_restore_files(self) -> None:
        snap, item = self.snapshot, self._item()
        if snap is None or self.running:
            return
        paths = (item.entry.path,) if item is not None and item.entry is not None else ()
        sources = tuple(s.path for s in snap.sources if isinstance(s, FolderSource))
        if not sources:
            self.notify("This snapshot holds no folders.", severity="warning")
            return
        repo, live = self.repo, self._live_folders()

        def look(folder: str | None, original: bool) -> RestorePreview:
            assert repo is not None
            return preview(repo, snap, folder, paths=paths, original=original, overwrite=True, live=live)

        self.app.push_screen(RestoreFilesDialog(paths, snap.time, sources, look), self._run_files)

    def _live_folders(self) -> tuple[str, ...]:
        """The folders these settings back up: live, whatever the snapshot says."""
        settings = self.settings
        return tuple(f for f in (settings.images_folder, *settings.extra_folders) if f)

    def _start(self, text: str) -> None:
        self.running = True
        self.app.busy = "a restore"
        self.query_one("#restore-run").display = True
        self.query_one("#restore-result").display = False
        self.query_one("#restore-phase", Static).update(text)

    def _run_database(self, request: DatabaseRequest | None) -> None:
        snap, repo = self.snapshot, self.repo
        if request is None or snap is None or repo is None:
            return
        from engine.database.restore import restore_database

        self._start(f"Restoring {request.source} as {request.target.database} on {request.target.server}...")

        def work() -> RestoreScreen.DatabaseRestored:
            log = JobLog("restore")
            try:
                with repo.reading("restore-db"):  # a reader's lock: nothing is pruned meanwhile
                    return self.DatabaseRestored(restore_database(
                        repo, snap, request.target, source_name=request.source, replace=request.replace,
                        confirm=request.confirm, on_event=post_events(self, "restore", log),
                        cancel=get_current_worker().cancelled_event))
            except OdbackupError as exc:
                log.error(exc)
                raise

        self.start_job("restore", work)

    def _run_files(self, request: FilesRequest | None) -> None:
        snap, repo = self.snapshot, self.repo
        if request is None or snap is None or repo is None:
            return
        from engine.folders.restore import restore

        self._start(f"Restoring into {request.folder or 'the original folders'}...")
        live = self._live_folders()

        def work() -> RestoreScreen.FilesRestored:
            log = JobLog("restore")
            try:
                with repo.reading("restore"):  # a reader's lock: nothing is pruned meanwhile
                    return self.FilesRestored(request, restore(
                        repo, snap, request.folder, paths=request.paths, verify=request.verify,
                        original=request.original, overwrite=request.overwrite, confirm=request.confirm,
                        live=live, on_event=post_events(self, "restore", log),
                        cancel=get_current_worker().cancelled_event))
            except OdbackupError as exc:
                log.error(exc)
                raise

        self.start_job("restore", work)

    # --- events (dispatched by class: JobScreen.on_engine_event) -------------------------------

    def show_database_restore_started(self, e: ev.DatabaseRestoreStarted) -> None:
        self.query_one("#restore-progress", ProgressBar).update(total=max(e.tables, 1), progress=0)

    def show_table_restored(self, e: ev.TableRestored) -> None:
        self.query_one("#restore-progress", ProgressBar).advance(1)
        self.query_one("#restore-phase", Static).update(f"Restored table {e.table}: {e.rows:,} rows")

    def show_restore_started(self, e: ev.RestoreStarted) -> None:
        self.query_one("#restore-progress", ProgressBar).update(total=max(e.bytes_total, 1), progress=0)
        self.eta = Eta()

    def show_restore_progress(self, e: ev.RestoreProgress) -> None:
        self.query_one("#restore-progress", ProgressBar).update(progress=e.bytes_done)
        self.query_one("#restore-phase", Static).update(
            f"{e.files_done:,} of {e.files_total:,} files, {fmt.size(e.bytes_done)} of {fmt.size(e.bytes_total)}"
            f"  {fmt.rate(e.bytes_done, e.elapsed)}  "
            f"{fmt.time_left(self.eta.seconds_left(e.bytes_done, e.bytes_total, e.elapsed))}")

    def on_restore_screen_files_restored(self, message: FilesRestored) -> None:
        request, r = message.request, message.result
        checked = ", every file re-read and verified" if request.verify else ""
        into = request.folder or "the original folders"
        lines: list[str | Text] = [Text(f"Restored {fmt.count(r.files, 'file')} ({fmt.size(r.bytes)}) into "
                                        f"{into}{checked}.", style="bold green")]
        if r.replaced:
            lines.append(Text(f"{fmt.count(r.replaced, 'file')} replaced; their previous versions are in "
                              f"{', '.join(r.kept_in)}."))
        if r.unchanged:
            lines.append(f"{fmt.count(r.unchanged, 'file')} already as in the backup: left as is.")
        lines += [Text(f"Not restored: {p}: {why}", style="yellow") for p, why in r.problems[:5]]
        self._finished(lines)

    def on_restore_screen_database_restored(self, message: DatabaseRestored) -> None:
        result = message.result
        lines: list[str | Text] = [Text(
            f"Restored {result.database} as {result.target}: {fmt.count(result.tables, 'table')}, "
            f"{result.rows:,} rows in {fmt.duration(result.seconds)}.", style="bold green")]
        lines += [Text(f"Problem: {p}", style="yellow") for p in result.problems[:5]]
        self._finished(lines)

    def _finished(self, lines: list[str | Text]) -> None:
        self._stopped()
        panel = self.query_one("#restore-result", InfoPanel)
        panel.display = True
        panel.show(lines)

    def _stopped(self) -> None:
        self.running = False
        self.app.busy = None
        self.query_one("#restore-run").display = False

    def on_job_failed(self, message: JobFailed) -> None:
        if message.job == "restore":
            self._stopped()

    def action_back(self) -> None:
        if not self.running:
            self.app.pop_screen()
        else:
            self.notify("A restore is running; it stops when you quit (Ctrl+Q).", severity="warning")
