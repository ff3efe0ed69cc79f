"""Verify-restore: prove a snapshot restores, without touching the live data.

Each database of the snapshot is restored into a scratch database with a
distinctive name (never one that exists) on the chosen server, with its
scheduled events disabled; every table is compared with what was recorded at
backup time (rows and stream checksum, computed the same way), checked with
``CHECK TABLE``, and every view, routine, trigger and event must be there
(views must run). Every file of the snapshot is decrypted and matched with
its hash. Scratch databases are dropped at the end, also on failure, unless
``keep``. The dated report goes to a local folder (text and JSON) and, sealed,
into the repository, where ``snapshots`` finds the verdict.
"""
from __future__ import annotations

import json
import os
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime

import platformdirs
import pymysql

from .database import compare
from .database.connection import (
    DatabaseError,
    DbTarget,
    connect,
    kill_session,
    one_row,
    parse_url,
    translate,
)
from .database.restore import database_sources, restore_database, rows_elsewhere
from .database.schema import quote_ident
from .errors import Cancelled, OdbackupError
from .events import (
    DEFINITION_ONLY,
    EventSink,
    FilesVerified,
    PatientFilesChecked,
    TableVerified,
    VerifyFinished,
    VerifyStarted,
    ignore_events,
)
from .folders.browse import roots, walk
from .reports import store_report
from .repository.records import DatabaseSource, DatabaseTree, FolderSource, TableNode
from .repository.repo import Repository
from .repository.snapshot import Snapshot


@dataclass
class DatabaseVerdict:
    database: str
    scratch: str
    tables: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    open_dental: dict = field(default_factory=dict)
    kept: bool = False
    patient_files: dict = field(default_factory=dict)
    """Its ``document`` and ``eobattach`` rows against the snapshot's images folder
    (a :class:`~engine.events.PatientFilesChecked` as a dict)."""


@dataclass
class VerifyReport:
    snapshot_id: str
    snapshot_time: str
    verified_at: str
    ok: bool = True
    databases: list[DatabaseVerdict] = field(default_factory=list)
    files: int = 0
    file_bytes: int = 0
    damaged_files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def scratch_name(snap: Snapshot, database: str) -> str:
    return f"odbackup_verify_{snap.short_id}_{database[:24]}_{secrets.token_hex(3)}"


def _verify_database(repo: Repository, snap: Snapshot, source: DatabaseSource, server: DbTarget, keep: bool,
                     on_event: EventSink, cancel: threading.Event, images: _Images) -> DatabaseVerdict:
    scratch = scratch_name(snap, source.name)
    verdict = DatabaseVerdict(source.name, scratch, kept=keep)
    conn = connect(server)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (scratch,))
            if one_row(cur)[0]:
                raise DatabaseError(f"The scratch database '{scratch}' already exists; refusing to use it.")
        try:
            result = restore_database(repo, snap, server.with_database(scratch), source_name=source.name,
                                      disable_events=True, on_event=on_event, cancel=cancel)
            verdict.problems += list(result.problems)
            try:
                _compare(repo, source, conn, server, scratch, verdict, on_event, cancel)
                _check_patient_files(repo, conn, scratch, verdict, images, on_event)
            except pymysql.err.MySQLError as exc:
                raise translate(exc, server, scratch) from None
        finally:
            if not keep:
                left = _drop_scratch(conn, server, scratch)
                if left:
                    verdict.problems.append(left)
    finally:
        conn.close()
    return verdict


@dataclass(frozen=True)
class _Images:
    """Which of the snapshot's folders is the A to Z folder (None: none), and what the settings
    name (``folders.images``)."""

    source: FolderSource | None
    configured: str


def _check_patient_files(repo: Repository, conn, scratch: str, verdict: DatabaseVerdict, images: _Images,
                         on_event: EventSink) -> None:
    """After the tables: the files the restored rows name must be in the snapshot's images folder."""
    from .opendental.documents import check_snapshot, missing_words

    try:
        checked = check_snapshot(repo, images.source, conn, scratch, images.configured)
    except OdbackupError as exc:  # a damaged folder listing (the files' check names it too)
        verdict.problems.append(f"the patient files could not be checked: the images folder cannot be read ({exc})")
        return
    checked = replace(checked, database=verdict.database)
    verdict.patient_files = asdict(checked)
    on_event(checked)
    if checked.missing_total:
        shown = ", ".join(checked.missing[:5]) + (" ..." if checked.missing_total > 5 else "")
        verdict.problems.append(f"{missing_words(checked)} ({shown})")


def _drop_scratch(conn, server: DbTarget, scratch: str) -> str | None:
    """Drop the scratch database (on a new connection if ``conn`` is broken); what went wrong, if anything."""
    sql = f"DROP DATABASE IF EXISTS {quote_ident(scratch)}"
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
        return None
    except pymysql.err.MySQLError:
        pass
    try:
        fresh = connect(server)
        try:
            with fresh.cursor() as cur:
                cur.execute(sql)
        finally:
            fresh.close()
        return None
    except (pymysql.err.MySQLError, OdbackupError) as exc:
        return f"the scratch database {scratch} could not be dropped ({exc}); drop it by hand"


def _compare(repo: Repository, source: DatabaseSource, conn, server: DbTarget, scratch: str, verdict: DatabaseVerdict,
             on_event: EventSink, cancel: threading.Event) -> None:
    tree = DatabaseTree.from_json(repo.read_tree(bytes.fromhex(source.tree)))
    parts = {n.name: [rows for rows, _ in n.parts] for n in tree.tables if n.parts}
    elsewhere = frozenset(n.name for n in tree.tables if rows_elsewhere(n))
    live = _LiveTables(source.name, [n for n in tree.tables if n.name not in elsewhere], on_event)
    check_conn = connect(server.with_database(scratch), database=scratch)
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="odbackup-check") as pool:  # CHECK TABLE meanwhile
            checking = pool.submit(compare.check_tables, check_conn,
                                   [n.name for n in tree.tables if n.name not in elsewhere], live.checked)
            try:
                sums = compare.stream_checksums(conn, server, scratch, parts, cancel=cancel, skip=elsewhere,
                                                on_table=live.summed)
            except BaseException:
                # cancelled or failed: CHECK TABLE ends now (its session, so no next batch
                # starts), and the scratch database can go at once
                kill_session(conn, check_conn.thread_id())
                raise
            checks = checking.result()
    finally:
        check_conn.close()
    created = _tables_in(conn, scratch) if elsewhere else frozenset()
    for node in tree.tables:
        if node.name in elsewhere:
            _definition_verified(source.name, node.name, node.name in created, verdict, on_event)
            continue
        event = _table_verified(source.name, node, sums.get(node.name), checks.get(node.name, "missing"))
        _add_table(verdict, live.emit_once, event)
        if not event.checksum_ok:
            verdict.problems.append(f"table {node.name}: rows {event.rows_restored}/{node.rows}, "
                                    "content differs" if node.name in sums else f"table {node.name} is missing")
        if event.check_table != "OK":
            verdict.problems.append(f"table {node.name}: CHECK TABLE says {event.check_table}")
    conn.select_db(scratch)
    verdict.problems += compare.program_problems(conn, scratch, [dict(p) for p in tree.programs])
    verdict.open_dental = compare.open_dental_facts(conn)


def _table_verified(database: str, node: TableNode, summed: tuple[int, str] | None, check: str) -> TableVerified:
    """A table's row count and checksum (None: not read) against the backup's, and its CHECK TABLE."""
    rows, digest = summed or (0, "")
    ok = summed is not None and digest == node.checksum and rows == node.rows
    return TableVerified(database, node.name, node.rows, rows, ok, check)


class _LiveTables:
    """Sends each table's ``TableVerified`` as soon as both its checksum (a reader's thread) and
    its CHECK TABLE (the check thread) are in, so the list fills while the rest is compared;
    the final pass sends only the ones not sent yet."""

    def __init__(self, database: str, nodes: list[TableNode], on_event: EventSink) -> None:
        self.database, self.on_event = database, on_event
        self.nodes = {n.name: n for n in nodes}
        self.sums: dict[str, tuple[int, str]] = {}
        self.checks: dict[str, str] = {}
        self.sent: set[str] = set()
        self.lock = threading.Lock()

    def summed(self, name: str, value: tuple[int, str]) -> None:
        with self.lock:
            self.sums[name] = value
            self._send_ready([name])

    def checked(self, verdicts: dict[str, str]) -> None:
        with self.lock:
            self.checks.update(verdicts)
            self._send_ready(list(verdicts))

    def _send_ready(self, names: list[str]) -> None:
        for name in names:
            if name in self.sums and name in self.checks and name in self.nodes and name not in self.sent:
                self.sent.add(name)
                self.on_event(_table_verified(self.database, self.nodes[name], self.sums[name], self.checks[name]))

    def emit_once(self, event) -> None:
        """The final pass's sink: what was sent already is not sent again."""
        with self.lock:
            if event.table in self.sent:
                return
            self.sent.add(event.table)
        self.on_event(event)


def _tables_in(conn, database: str) -> frozenset[str]:
    with conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (database,))
        return frozenset(row[0] for row in cur.fetchall())


def _definition_verified(database: str, table: str, created: bool, verdict: DatabaseVerdict,
                         on_event: EventSink) -> None:
    """A table backed up as its definition only (its rows live in other tables): restored, it is a
    note; not created, a problem (the restore says why)."""
    _add_table(verdict, on_event, TableVerified(database, table, 0, 0, created,
                                                DEFINITION_ONLY if created else "missing"))
    if not created and not any(p.startswith(f"table {table} ") for p in verdict.problems):
        verdict.problems.append(f"table {table} (a definition only) could not be created")


def _add_table(verdict: DatabaseVerdict, on_event: EventSink, event: TableVerified) -> None:
    verdict.tables.append({"table": event.table, "rows_expected": event.rows_expected,
                           "rows_restored": event.rows_restored, "checksum_ok": event.checksum_ok,
                           "check_table": event.check_table, "ok": event.ok})
    on_event(event)


def _verify_files(repo: Repository, snap: Snapshot, report: VerifyReport, cancel: threading.Event) -> None:
    for root in roots(repo, snap):
        try:
            entries = list(walk(repo, root))
        except OdbackupError as exc:
            report.damaged_files.append(f"{root.path} (folder listing: {exc})")
            continue
        for entry in entries:
            if cancel.is_set():
                raise Cancelled("The verification was cancelled.")
            if entry.type != "file":
                continue
            try:
                for cid, _size in entry.node.content or ():
                    report.file_bytes += len(repo.read_blob(bytes.fromhex(cid)))
                report.files += 1
            except OdbackupError:
                report.damaged_files.append(entry.path)


def default_server(source: DatabaseSource) -> DbTarget:
    return parse_url(f"mysql://{source.user or 'root'}@{source.server}")


def verify_snapshot(
    repo: Repository,
    snap: Snapshot,
    *,
    server: DbTarget | None = None,
    keep: bool = False,
    images_folder: str = "",
    password_for=lambda target: target,
    on_event: EventSink = ignore_events,
    cancel: threading.Event | None = None,
) -> tuple[VerifyReport, str, str]:
    """Verify ``snap``; returns the report and the paths of its text and JSON forms.

    ``images_folder`` is the settings' A to Z folder (``folders.images``): the snapshot's folder
    backed up from it (without one, the one named ``OpenDentImages``) is checked against each
    restored Open Dental database's ``document`` and ``eobattach`` rows.
    The repository is read under a reader's shared lock (docs/FORMAT.md section 9)."""
    with repo.reading("verify"):
        return _verify_snapshot(repo, snap, server, keep, password_for, on_event, cancel or threading.Event(),
                                images_folder)


def _verify_snapshot(repo: Repository, snap: Snapshot, server: DbTarget | None, keep: bool, password_for,
                     on_event: EventSink, cancel: threading.Event, images_folder: str = ""
                     ) -> tuple[VerifyReport, str, str]:
    from .opendental.documents import images_source

    started = time.monotonic()
    report = VerifyReport(snap.snapshot_id, snap.time, datetime.now(UTC).isoformat(timespec="seconds"))
    sources = database_sources(repo, snap)
    images = _Images(images_source(snap.sources, images_folder) if sources else None, images_folder)
    on_event(VerifyStarted(snap.snapshot_id, tuple(f"odbackup_verify_{snap.short_id}_{s.name}_*"
                                                   for s in sources)))
    for source in sources:
        target = password_for(server or default_server(source))
        try:
            verdict = _verify_database(repo, snap, source, target, keep, on_event, cancel, images)
        except (DatabaseError, OdbackupError) as exc:
            if isinstance(exc, Cancelled):
                raise
            verdict = DatabaseVerdict(source.name, "", problems=[f"could not be restored and compared: {exc}"])
        report.databases.append(verdict)
        report.problems += [f"{source.name}: {p}" for p in verdict.problems]
    _verify_files(repo, snap, report, cancel)
    on_event(FilesVerified(report.files, report.file_bytes, tuple(report.damaged_files)))
    report.problems += [f"file damaged: {p}" for p in report.damaged_files]
    report.ok = not report.problems
    report.seconds = round(time.monotonic() - started, 3)
    text_path, json_path = save_report(repo, report)
    on_event(VerifyFinished(snap.snapshot_id, report.ok, tuple(report.problems), text_path, json_path))
    return report, text_path, json_path


# --- reports ----------------------------------------------------------------------------------


def reports_dir() -> str:
    return os.environ.get("ODBACKUP_REPORTS_DIR") or os.path.join(
        platformdirs.user_data_dir("odbackup", False), "reports")


def tables_line(tables: int, bad: int, definitions: int) -> str:
    """``31 tables compared, 0 with problems, 1 definition only (...)`` (the report and the app's
    screen say the same)."""
    return (f"{tables} tables compared, {bad} with problems"
            + (f", {definitions} definition only (its rows live in other tables)" if definitions else ""))


def _tables_line(tables: list[dict]) -> str:
    return tables_line(len(tables), sum(not t["ok"] for t in tables),
                       sum(t["ok"] and t["check_table"] == DEFINITION_ONLY for t in tables))


def verdict_words(report: VerifyReport) -> str:
    """The verdict in plain words: PASSED, FAILED, or, when the only problem is patient files the
    database names that the backup lacks, ``FAILED: restores, but N patient files ...``."""
    if report.ok:
        return "PASSED: this backup restores completely and exactly."
    from .opendental.documents import missing_words

    checks = [_checked(db.patient_files) for db in report.databases if db.patient_files]
    short = [c for c in checks if c.missing_total]
    if short and len(report.problems) == len(short):
        total = sum(c.missing_total for c in short)
        return "FAILED: " + missing_words(replace(short[0], missing_total=total)) + "."
    return "FAILED"


def _checked(doc: dict) -> PatientFilesChecked:
    """A database's patient-files check, back from its dict in the report."""
    return PatientFilesChecked(**{**doc, "missing": tuple(doc["missing"]), "unnamed": tuple(doc["unnamed"])})


def _patient_files_lines(db: DatabaseVerdict) -> list[str]:
    from .opendental.documents import detail_lines, summary_words

    if not db.patient_files:
        return []
    e = _checked(db.patient_files)
    return [f"  {summary_words(e)}"] + [f"    {line}" for line in detail_lines(e)]


def render_text(report: VerifyReport) -> str:
    verdict = verdict_words(report)
    lines = [
        "odbackup verification report",
        f"Snapshot:  {report.snapshot_id[:8]} taken {report.snapshot_time}",
        f"Verified:  {report.verified_at} ({report.seconds:.1f} s)",
        f"Verdict:   {verdict}",
        "",
    ]
    for db in report.databases:
        lines.append(f"Database {db.database} (restored as {db.scratch or '-'}"
                     f"{', kept' if db.kept else ', dropped afterwards'}):")
        for key, value in db.open_dental.items():
            lines.append(f"  {key.replace('_', ' ')}: {value}")
        lines.append(f"  {_tables_line(db.tables)}, {sum(t['rows_restored'] for t in db.tables):,} rows")
        for t in db.tables:
            mark = "ok " if t["ok"] else "BAD"
            lines.append(f"  {mark} {t['table']:<32} rows {t['rows_restored']:>10,} / {t['rows_expected']:<10,}"
                         f" check: {t['check_table']}")
        lines += _patient_files_lines(db)
        lines.append("")
    lines.append(f"Files: {report.files:,} decrypted and matched their hashes ({report.file_bytes:,} bytes); "
                 f"{len(report.damaged_files)} damaged.")
    lines += [f"  damaged: {p}" for p in report.damaged_files]
    if report.problems:
        lines += ["", "Problems:"] + [f"  - {p}" for p in report.problems]
    return "\n".join(lines) + "\n"


def save_report(repo: Repository, report: VerifyReport) -> tuple[str, str]:
    folder = reports_dir()
    os.makedirs(folder, exist_ok=True)
    stamp = report.verified_at.replace(":", "").replace("-", "")[:15]
    base = os.path.join(folder, f"verify-{report.snapshot_id[:8]}-{stamp}")
    doc = asdict(report)
    with open(base + ".txt", "w", encoding="utf-8") as f:
        f.write(render_text(report))
    with open(base + ".json", "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
    store_report(repo, report.snapshot_id, report.verified_at, report.ok, doc)
    return base + ".txt", base + ".json"
