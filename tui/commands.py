"""One function per CLI subcommand: arguments in, exit code out.

Each command imports the engine modules it needs itself: a run loads only its
own part of the engine (a scheduled backup starts a fresh process each time).
"""
from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from engine.errors import RepositoryDamaged, UsageError
from engine.repository.repo import Repository

from .printers import JsonPrinter, TextPrinter, size
from .secrets_input import ENV as PASSPHRASE_ENV
from .secrets_input import ask_db_password, ask_secret, new_passphrase, open_repository

EXIT_OK, EXIT_INCOMPLETE, EXIT_DAMAGED = 0, 3, 6
Printer = JsonPrinter | TextPrinter


def make_printer(as_json: bool) -> Printer:
    return JsonPrinter() if as_json else TextPrinter()


def _local_time(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def init(args: argparse.Namespace, out: Printer) -> int:
    passphrase = new_passphrase()
    repo, recovery = Repository.init(args.repo_path, passphrase)
    if isinstance(out, JsonPrinter):
        out.summary({"repository": repo.location, "repository_id": repo.repo_id, "recovery_key": recovery})
        return EXIT_OK
    out.result(f"Created the encrypted repository at {repo.location}.")
    out.result("")
    out.result("RECOVERY KEY (shown only this once):")
    out.result("")
    out.result(f"    {recovery}")
    out.result("")
    out.result("Write it down or print it, and keep it away from the backup drive (a safe, the")
    out.result("practice owner's home). It opens the backups if the passphrase is forgotten.")
    return EXIT_OK


def enroll(args: argparse.Namespace, out: Printer) -> int:
    from engine.repository import keys as keymod

    repo = Repository.open(args.repo)
    secret = ask_secret()
    if secret is None:
        raise UsageError("Enrolling needs the passphrase: set ODBACKUP_PASSPHRASE or run on a terminal.")
    repo.unlock(secret)
    path = keymod.enroll_machine(repo.keys, repo.location)
    out.result(f"This machine can now back up to {repo.location} without the passphrase.")
    out.result(f"Its write-only credentials are in {path} (they cannot read any backup back).")
    for url in args.db:
        _remember_db_password(url, out)
    return EXIT_OK


def _remember_db_password(url: str, out: Printer) -> None:
    from engine.database.connection import connect, parse_url, resolve_password, save_password

    target = parse_url(url)
    password = os.environ.get("ODBACKUP_DB_PASSWORD")
    if password is None:
        password = ask_db_password(f"Password for {target.user}@{target.server}: ")
    if password is None:
        raise UsageError("Set ODBACKUP_DB_PASSWORD or run on a terminal to give the database password.")
    connect(resolve_password(target.with_password(password))).close()  # prove it works first
    where = save_password(target, password)
    out.result(f"The password of {target.user}@{target.server} is remembered in {where} (owner-only).")


def passwd(args: argparse.Namespace, out: Printer) -> int:
    repo = Repository.open(args.repo)
    old = ask_secret("Current passphrase or recovery key: ")
    if old is None:
        raise UsageError("Set ODBACKUP_PASSPHRASE (the current one) or run on a terminal.")
    repo.change_passphrase(old, new_passphrase("ODBACKUP_NEW_PASSPHRASE"))
    out.result("The passphrase was changed. The recovery key still works; no data was re-encrypted.")
    return EXIT_OK


def _open_and_plan(args: argparse.Namespace) -> tuple[Repository, tuple]:
    """The repository opened, and the databases planned. With the passphrase in the environment
    (nothing to prompt for) the key derivation (Argon2id, 0.15 s here; it releases the GIL) runs
    in a thread while the backup's modules load and the database passwords are resolved."""
    if not os.environ.get(PASSPHRASE_ENV):
        return open_repository(args.repo, full=False), _db_plans(args)
    with ThreadPoolExecutor(1, thread_name_prefix="odbackup-unlock") as pool:
        opening = pool.submit(open_repository, args.repo, full=False)
        try:
            import engine.backup  # noqa: F401  (loaded meanwhile)

            databases = _db_plans(args)
        except BaseException:
            opening.result()  # a repository that cannot be opened is said first, as without the thread
            raise
        return opening.result(), databases


def _db_plans(args: argparse.Namespace) -> tuple:
    if not args.db:
        return ()  # the database stack (pymysql) is loaded only when a database is backed up
    from engine.database.connection import parse_url, resolve_password
    from engine.database.dump import DatabasePlan

    plans = []
    for url in args.db:
        target = resolve_password(parse_url(url), ask=ask_db_password)
        plans.append(DatabasePlan(target, lock_mode=args.lock_mode, lock_timeout=args.lock_timeout))
    return tuple(plans)


def backup(args: argparse.Namespace, out: Printer) -> int:
    if not args.path and not args.db:
        raise UsageError("Give at least one folder with --path or database with --db.")
    repo, databases = _open_and_plan(args)
    from engine.backup import BackupPlan, run_backup

    result = run_backup(repo, BackupPlan(tuple(args.path), databases), on_event=out)
    out.summary({
        "snapshot_id": result.snapshot_id, "complete": result.complete, "files": result.files,
        "bytes": result.bytes, "bytes_added": result.bytes_added, "bytes_stored": result.bytes_stored,
        "duration": round(result.duration, 3), "skipped": [list(s) for s in result.skipped],
    })
    return EXIT_OK if result.complete else EXIT_INCOMPLETE


def snapshots(args: argparse.Namespace, out: Printer) -> int:
    from engine.reports import verifications

    repo = open_repository(args.repo, full=False)
    snaps = repo.snapshots()
    checked = verifications(repo)
    if isinstance(out, JsonPrinter):
        for s in snaps:
            when, ok = checked.get(s.snapshot_id, (None, None))
            out.emit({"event": "snapshot", "id": s.snapshot_id, "time": s.time, "hostname": s.hostname,
                      "complete": s.complete, "stats": s.stats, "verified_at": when, "verified_ok": ok,
                      "sources": [src.get("path") or f"{src['server']}/{src['name']}" for src in s.body["sources"]]
                      if s.body else None})
        out.summary({"snapshots": len(snaps)})
        return EXIT_OK
    if not snaps:
        out.result("No snapshots yet.")
        return EXIT_OK
    out.result(f"{'ID':<10}{'Time':<21}{'Host':<14}{'Files':>8}{'Size':>11}  {'Status':<11}{'Verified':<17} Sources")
    for s in snaps:
        status = "complete" if s.complete else "INCOMPLETE"
        when, ok = checked.get(s.snapshot_id, (None, None))
        verified = "never" if when is None else f"{'PASSED' if ok else 'FAILED'} {_local_time(when)[:10]}"
        sources = " " + ", ".join(src["name"] for src in s.body["sources"]) if s.body else ""
        out.result(f"{s.short_id:<10}{_local_time(s.time):<21}{s.hostname[:13]:<14}"
                   f"{s.stats.get('files', 0):>8,}{size(s.stats.get('bytes', 0) + s.stats.get('db_bytes', 0)):>11}"
                   f"  {status:<11}{verified:<17}{sources}".rstrip())
    if not repo.can_read:
        out.result("(folder names are shown only with the passphrase)")
    for snap_id in repo.damaged_snapshots:
        out.info(f"warning: snapshot file {snap_id[:8]} is damaged and was left out; run 'odbackup check'.")
    return EXIT_OK


def ls(args: argparse.Namespace, out: Printer) -> int:
    from engine.folders import browse

    repo = open_repository(args.repo, full=True)
    snap = repo.find_snapshot(args.snapshot)
    starts = [browse.find(repo, snap, args.path)] if args.path else browse.roots(repo, snap)
    count = 0
    for start in starts:
        for entry in browse.walk(repo, start):
            count += 1
            node = entry.node
            if isinstance(out, JsonPrinter):
                out.emit({"event": "entry", "path": entry.path, "type": entry.type,
                          "size": node.get("size"), "mtime_ns": node.get("mtime_ns")})
                continue
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(node.get("mtime_ns", 0) / 1e9))
            extra = f" -> {node['target']}" if entry.type == "symlink" else ""
            shown = entry.path + ("/" if entry.type == "dir" else "")
            out.result(f"{entry.type[0]} {node.get('size', 0):>14,} {when}  {shown}{extra}")
    out.summary({"snapshot_id": snap.snapshot_id, "entries": count})
    return EXIT_OK


def restore(args: argparse.Namespace, out: Printer) -> int:
    from engine.folders.restore import preview
    from engine.folders.restore import restore as run_restore

    repo = open_repository(args.repo, full=True)
    snap = repo.find_snapshot(args.snapshot)
    where = dict(original=True) if args.original else dict(target=args.to)
    if args.dry_run:
        return _restore_preview(preview(repo, snap, paths=tuple(args.paths), overwrite=args.overwrite, **where),
                                snap.snapshot_id, out)
    result = run_restore(repo, snap, paths=tuple(args.paths), verify=args.verify, overwrite=args.overwrite,
                         confirm=args.confirm, on_event=out, **where)
    if result.replaced:
        out.result(f"{result.replaced:,} file(s) replaced; their previous versions were moved to "
                   f"{', '.join(result.kept_in)}")
    out.summary({"snapshot_id": snap.snapshot_id,
                 "target": "original" if args.original else os.path.abspath(args.to),
                 "files": result.files, "bytes": result.bytes, "replaced": result.replaced,
                 "unchanged": result.unchanged, "kept_in": list(result.kept_in),
                 "problems": [list(p) for p in result.problems],
                 "damaged": result.damaged, "verified": args.verify,
                 "resumed": {"kept": result.already_complete, "rewritten": result.rewritten}
                 if result.resumed else None})
    if result.damaged:
        raise RepositoryDamaged("Some files could not be restored because the backup data is damaged.")
    return EXIT_INCOMPLETE if result.problems else EXIT_OK


def _restore_preview(found, snapshot_id: str, out: Printer) -> int:
    """``restore --dry-run``: what would be created and replaced, nothing written."""
    out.result(f"Would restore into {', '.join(found.destinations)}: {found.new_files:,} new file(s) "
               f"({size(found.new_bytes)}), {len(found.replaced):,} replaced ({size(found.replaced_bytes)}), "
               f"{found.unchanged:,} already as in the backup.")
    for path in found.unfinished:
        out.result(f"Would finish the unfinished restore recorded in {path} "
                   f"({found.already_complete:,} file(s) of it already complete, kept).")
    for path in found.live:
        out.result(f"LIVE folder: {path} (needs --overwrite --confirm '{path}')")
    for rel in found.replaced:
        out.result(f"would replace: {rel}")
    for rel, why in found.problems:
        out.result(f"problem: {rel}: {why}")
    out.summary({"snapshot_id": snapshot_id, "dry_run": True, "destinations": list(found.destinations),
                 "live": list(found.live), "new_files": found.new_files, "new_bytes": found.new_bytes,
                 "replaced": list(found.replaced), "replaced_bytes": found.replaced_bytes,
                 "unchanged": found.unchanged, "problems": [list(p) for p in found.problems],
                 "unfinished": list(found.unfinished), "already_complete": found.already_complete})
    return EXIT_OK


def restore_db(args: argparse.Namespace, out: Printer) -> int:
    from engine.database.connection import parse_url, resolve_password
    from engine.database.restore import restore_database

    target = resolve_password(parse_url(args.into), ask=ask_db_password)
    if not target.database:
        raise UsageError("Name the new database in --into (mysql://USER@HOST:PORT/NEWNAME).")
    repo = open_repository(args.repo, full=True)
    snap = repo.find_snapshot(args.snapshot)
    result = restore_database(repo, snap, target, source_name=args.db, replace=args.replace,
                              confirm=args.confirm, on_event=out)
    out.summary({"snapshot_id": snap.snapshot_id, "database": result.database, "target": result.target,
                 "tables": result.tables, "rows": result.rows, "seconds": round(result.seconds, 3),
                 "problems": list(result.problems)})
    return EXIT_INCOMPLETE if result.problems else EXIT_OK


def verify(args: argparse.Namespace, out: Printer) -> int:
    from engine.database.connection import parse_url, resolve_password
    from engine.verify import verify_snapshot

    repo = open_repository(args.repo, full=True)
    snap = repo.find_snapshot(args.snapshot)
    server = parse_url(args.server) if args.server else None
    report, text_path, json_path = verify_snapshot(
        repo, snap, server=server, keep=args.keep,
        password_for=lambda t: resolve_password(t, ask=ask_db_password), on_event=out)
    out.summary({"snapshot_id": snap.snapshot_id, "ok": report.ok, "problems": report.problems,
                 "report_text": text_path, "report_json": json_path})
    return EXIT_OK if report.ok else EXIT_DAMAGED


def demo(args: argparse.Namespace, out: Printer) -> int:
    import platformdirs

    from engine.database.connection import connect, parse_url, resolve_password
    from engine.database.demo import create_demo

    target = resolve_password(parse_url(args.server), ask=ask_db_password)
    images = args.images or os.path.join(platformdirs.user_data_dir("odbackup", False), "demo", "OpenDentImages")
    conn = connect(target)
    try:
        result = create_demo(conn, args.db, images, scale=args.scale, on_event=out)
    finally:
        conn.close()
    out.result(f"Created the sample practice: database {result.database} on {target.server} "
               f"({result.tables} tables, {result.rows:,} rows, {size(result.bytes)}) and the images folder "
               f"{result.images_dir} ({result.image_files:,} files, {size(result.image_bytes)}) "
               f"in {result.seconds:.1f} s.")
    out.summary({"database": result.database, "server": target.server, "tables": result.tables,
                 "rows": result.rows, "bytes": result.bytes, "images_dir": result.images_dir,
                 "image_files": result.image_files, "image_bytes": result.image_bytes})
    return EXIT_OK


def check(args: argparse.Namespace, out: Printer) -> int:
    from engine import check as checkmod

    repo = open_repository(args.repo, full=args.read_data)
    result = checkmod.check(repo, read_data=args.read_data, on_event=out)
    out.summary({"ok": result.ok, "errors": result.errors, "warnings": result.warnings,
                 "damaged": result.damaged})
    if not result.ok:
        raise RepositoryDamaged(f"Check found {len(result.errors)} error(s).")
    return EXIT_OK


def unlock(args: argparse.Namespace, out: Printer) -> int:
    from engine.repository.lock import clear_stale

    repo = open_repository(args.repo, full=False)
    holder = clear_stale(repo.backend, repo.keys.maint_key, force=args.force)
    if holder is None:
        out.result("The repository was not locked.")
    else:
        out.result(f"Removed the lock of {holder.describe()}.")
    return EXIT_OK
