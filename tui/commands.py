"""One function per CLI subcommand: arguments in, exit code out.

Each command imports the engine modules it needs itself: a run loads only its
own part of the engine (a scheduled backup starts a fresh process each time).
"""
from __future__ import annotations

import argparse
import os
import time
from datetime import datetime
from typing import TYPE_CHECKING

from engine.errors import RepositoryDamaged, UsageError
from engine.repository.repo import Repository

from .printers import JsonPrinter, TextPrinter, size
from .secrets_input import ENV as PASSPHRASE_ENV
from .secrets_input import (
    ask_db_password,
    ask_secret,
    db_password_prompt,
    new_passphrase,
    open_repository,
)
from .storage_commands import uplink_for

EXIT_OK, EXIT_INCOMPLETE, EXIT_DAMAGED = 0, 3, 6
Printer = JsonPrinter | TextPrinter

if TYPE_CHECKING:
    from engine.database.connection import DbTarget
    from engine.listing import SnapshotRow


def make_printer(as_json: bool) -> Printer:
    return JsonPrinter() if as_json else TextPrinter()


def _local_time(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _open(args: argparse.Namespace, out: Printer, *, full: bool) -> Repository:
    """Open and unlock the repository (``open_repository``), warning of key files skipped as damaged."""
    repo = open_repository(args.repo, full=full)
    _warn_key_files(repo, out)
    return repo


def _warn_key_files(repo: Repository, out: Printer) -> None:
    for name, why in repo.damaged_key_files:
        out.info(f"warning: key file {name} is damaged and was skipped ({why}); another key file opened the "
                 "repository. Run 'odbackup check'.")


def init(args: argparse.Namespace, out: Printer) -> int:
    recovery: str | None
    if args.related_to:
        repo, recovery = _init_related(args)
    else:
        repo, recovery = Repository.init(args.repo_path, new_passphrase(),
                                         object_lock_days=getattr(args, "object_lock_days", 0))
    if isinstance(out, JsonPrinter):
        out.summary({"repository": repo.location, "repository_id": repo.repo_id, "recovery_key": recovery,
                     "recovery_key_of": repo.family if args.related_to and recovery is None else None,
                     "related_to": args.related_to, "label": repo.label})
        return EXIT_OK
    out.result(f"Created the encrypted repository at {repo.location}.")
    if args.related_to:
        out.result(f"It is related to {args.related_to}: 'odbackup copy' moves snapshots into it without the "
                   "passphrase. It opens with the same passphrase as that repository, and with "
                   + ("the same recovery key." if recovery is None else "its own recovery key below."))
    if recovery is None:
        return EXIT_OK
    if args.related_to:
        out.result(f"({args.related_to} was made by an older odbackup, so its recovery key does not open this "
                   "one: keep both. Give its recovery key instead of the passphrase and it opens both.)")
    out.result("")
    out.result("RECOVERY KEY (shown only this once):")
    out.result("")
    out.result(f"    {recovery}")
    out.result("")
    out.result("Write it down or print it, and keep it away from the backup drive (a safe, the")
    out.result("practice owner's home). It opens the backups if the passphrase is forgotten.")
    return EXIT_OK


def _init_related(args: argparse.Namespace) -> tuple[Repository, str | None]:
    """A repository sharing REPO's secrets (FORMAT.md 10.4): REPO's passphrase opens it too
    (given as the recovery key, a new passphrase is asked for), and REPO's recovery key (its own
    recovery key when REPO was made before the family recovery key and its passphrase was given)."""
    from engine.recovery import looks_like_recovery_key

    source = Repository.open(args.related_to)
    secret = ask_secret(f"Passphrase of {source.location}: ")
    if secret is None:
        raise UsageError("Making a related repository needs the passphrase of the one it is related to: set "
                         "ODBACKUP_PASSPHRASE or run on a terminal.")
    source.unlock(secret)
    given_recovery = looks_like_recovery_key(secret)
    passphrase = new_passphrase("ODBACKUP_NEW_PASSPHRASE") if given_recovery else secret
    return Repository.init_related(args.repo_path, source, passphrase, label=args.label,
                                   object_lock_days=getattr(args, "object_lock_days", 0),
                                   source_recovery_key=secret if given_recovery else None)


def copy(args: argparse.Namespace, out: Printer) -> int:
    from engine.repository.copy import copy_snapshots
    from engine.repository.lock import RepoLock
    from engine.repository.reseal import reseal_snapshots

    related = Repository.open(args.repo).related_to(Repository.open(args.to))
    if related:
        source, target = _open(args, out, full=False), open_repository(args.to, full=False)
    else:
        source, target = _open_unrelated(args)
    with source.reading("copy"):
        lock, _replaced = RepoLock.acquire(target.backend, target.keys.maint_key, "copy", mode="write")
        with lock, uplink_for(args, target.backend) as cancel:
            if related:
                result = copy_snapshots(source, target, args.snapshots or None, on_event=out,
                                        refresh=lock.refresh, cancel=cancel)
            else:
                result = reseal_snapshots(source, target, args.snapshots or None, on_event=out,
                                          refresh=lock.refresh, cancel=cancel)
    out.summary({"source": source.location, "target": target.location, "label": target.label,
                 "snapshots_copied": list(result.snapshots), "snapshots_present": result.snapshots_present,
                 "blobs": result.blobs, "bytes_sent": result.bytes_sent, "packs_written": result.packs_written,
                 "packs_adopted": result.packs_adopted, "seconds": round(result.seconds, 3)})
    return EXIT_OK


def _open_unrelated(args: argparse.Namespace) -> tuple[Repository, Repository]:
    """Both repositories with their full keys: REPO's passphrase or recovery key, and REPO2's
    (``ODBACKUP_TO_PASSPHRASE`` or its prompt; else the same secret as REPO's)."""
    from engine.errors import NeedsFullKey

    source, target = Repository.open(args.repo), Repository.open(args.to)
    secret = ask_secret(f"Passphrase or recovery key of {source.location}: ")
    if secret is None:
        raise NeedsFullKey(
            f"{target.location} is not related to {source.location}: copying into it opens every blob and "
            "seals it again, which needs the passphrase (or recovery key) of both repositories.",
            hint=f"Set ODBACKUP_PASSPHRASE (and ODBACKUP_TO_PASSPHRASE when the target's differs), or make the "
                 f"target with 'odbackup init TARGET --related-to {source.location}': copies into a related "
                 "repository need no passphrase.")
    source.unlock(secret)
    target_secret = os.environ.get("ODBACKUP_TO_PASSPHRASE") or ask_secret(
        f"Passphrase or recovery key of {target.location}: ", env=False) or secret
    target.unlock(target_secret)
    return source, target


def enroll(args: argparse.Namespace, out: Printer) -> int:
    from engine.repository import keys as keymod

    repo = Repository.open(args.repo)
    secret = ask_secret()
    if secret is None:
        raise UsageError("Enrolling needs the passphrase: set ODBACKUP_PASSPHRASE or run on a terminal.")
    repo.unlock(secret)
    _warn_key_files(repo, out)
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
    from concurrent.futures import ThreadPoolExecutor

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
    from engine.database.connection import resolve_password
    from engine.database.dump import DatabasePlan

    plans = []
    for url in args.db:
        target = resolve_password(named_database(url, "DBNAME", "opendental"), ask=db_password_prompt())
        plans.append(DatabasePlan(target, lock_mode=args.lock_mode, lock_timeout=args.lock_timeout))
    return tuple(plans)


def named_database(url: str, placeholder: str, example: str) -> DbTarget:
    """A database URL that must name its database (checked before any password is asked for)."""
    from engine.database.connection import parse_url

    target = parse_url(url)
    if not target.database:
        raise UsageError(f"'{url}' names no database: write mysql://USER@HOST:PORT/{placeholder}, "
                         f"for example {target.url()}/{example}.")
    return target


def backup(args: argparse.Namespace, out: Printer) -> int:
    if not args.path and not args.db:
        raise UsageError("Give at least one folder with --path or database with --db.")
    repo, databases = _open_and_plan(args)
    _warn_key_files(repo, out)
    from engine.backup import BackupPlan, run_backup
    from engine.events import DatabaseDumped, Event

    dumped: list[DatabaseDumped] = []

    def on_event(event: Event) -> None:
        if isinstance(event, DatabaseDumped):
            dumped.append(event)
        out(event)

    _patient_files_preflight(tuple(args.path), databases, out)
    for plan in databases:  # Open Dental's admin users without a password (engine.opendental.admins)
        from engine.opendental.admins import check_quietly

        out(check_quietly(plan.target))
    with uplink_for(args, repo.backend) as cancel:
        result = run_backup(repo, BackupPlan(tuple(args.path), databases), on_event=on_event, cancel=cancel)
    out.summary({
        "snapshot_id": result.snapshot_id, "complete": result.complete, "files": result.files,
        "bytes": result.bytes, "bytes_added": result.bytes_added, "bytes_stored": result.bytes_stored,
        "duration": round(result.duration, 3), "skipped": [list(s) for s in result.skipped],
        **_database_figures(dumped, result.lock_window),
    })
    return EXIT_OK if result.complete else EXIT_INCOMPLETE


def _patient_files_preflight(paths: tuple[str, ...], databases: tuple, out: Printer) -> None:
    """Before the backup: the files each database names against the images folder being backed
    up (the settings' ``folders.images`` among ``--path``, else a ``--path`` named OpenDentImages)."""
    if not databases or not paths:
        return
    from engine.backup import source_names
    from engine.database.preflight import patient_files
    from engine.opendental.documents import images_source
    from engine.repository.records import FolderSource

    folders = [FolderSource(name, path, tree="", mode=0, mtime_ns=0) for name, path in source_names(paths)]
    images = images_source(folders, _images_setting())  # the folders about to be backed up, not yet stored
    if images is not None:
        for plan in databases:
            out(patient_files(plan.target, images.path))


def _database_figures(dumped: list, lock_window: float) -> dict:
    """The databases' part of ``backup --json``'s summary: totals named as in the snapshot's
    stats (``lock_window``: the office's wait the backup measured), and each database's
    ``database_dumped`` figures."""
    from engine.events import to_dict

    return {"databases": len(dumped), "db_tables": sum(d.tables for d in dumped),
            "db_rows": sum(d.rows for d in dumped), "db_bytes": sum(d.bytes for d in dumped),
            "lock_window": lock_window,
            "per_database": [{k: v for k, v in to_dict(d).items() if k != "event"} for d in dumped]}


def snapshots(args: argparse.Namespace, out: Printer) -> int:
    from engine.listing import list_snapshots

    if getattr(args, "at", None):
        from .at_option import snapshots_at

        return snapshots_at(args, out)
    repo = _open(args, out, full=False)
    rows = list_snapshots(repo)
    if isinstance(out, JsonPrinter):
        for row in rows:
            out.emit(_snapshot_json(row))
        damaged = sum(row.damaged for row in rows)
        out.summary({"snapshots": len(rows) - damaged, "damaged": damaged})
        return EXIT_OK
    if not rows:
        out.result("No snapshots yet.")
        return EXIT_OK
    out.result(f"{'ID':<10}{'Time':<21}{'Host':<14}{'Files':>8}{'Size':>11}  {'Status':<11}{'Verified':<17} Sources")
    for row in rows:
        out.result(_snapshot_line(row))
    if not repo.can_read:
        out.result("(folder names are shown only with the passphrase)")
    return EXIT_OK


def _snapshot_json(row: SnapshotRow) -> dict:
    if row.damaged:
        return {"event": "snapshot", "id": row.snapshot_id, "damaged": True, "problem": row.problem}
    return {"event": "snapshot", "id": row.snapshot_id, "time": row.time, "hostname": row.hostname,
            "complete": row.complete, "stats": row.stats.to_json() if row.stats else {}, "verified_at": row.verified_at,
            "verified_ok": row.verified_ok,
            "sources": None if row.sources is None else [src.where for src in row.sources],
            "sources_hidden": row.sources_hidden, "damaged": False}


def _snapshot_line(row: SnapshotRow) -> str:
    if row.damaged:
        return (f"{row.short_id:<10}{'?':<21}{'?':<14}{'?':>8}{'?':>11}  {'DAMAGED':<11}"
                "(cannot be used; run 'odbackup check')")
    status = "complete" if row.complete else "INCOMPLETE"
    verified = ("never" if row.verified_at is None
                else f"{'PASSED' if row.verified_ok else 'FAILED'} {_local_time(row.verified_at)[:10]}")
    sources = " " + ", ".join(src.name for src in row.sources) if row.sources else ""
    return (f"{row.short_id:<10}{_local_time(row.time):<21}{row.hostname[:13]:<14}{row.files:>8,}"
            f"{size(row.bytes):>11}  {status:<11}{verified:<17}{sources}").rstrip()


def ls(args: argparse.Namespace, out: Printer) -> int:

    from .at_option import open_for

    repo, ref = open_for(args, out, full=True)
    with repo.reading("ls"):
        return _ls(repo, repo.find_snapshot(ref), args.path, out)


def _ls(repo: Repository, snap, path: str | None, out: Printer) -> int:
    from engine.folders import browse

    starts = [browse.find(repo, snap, path)] if path else browse.roots(repo, snap)
    count = 0
    for start in starts:
        for entry in browse.walk(repo, start):
            count += 1
            node = entry.node
            if isinstance(out, JsonPrinter):
                out.emit({"event": "entry", "path": entry.path, "type": entry.type,
                          "size": node.size, "mtime_ns": node.mtime_ns})
                continue
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(node.mtime_ns / 1e9))
            extra = f" -> {node.target}" if entry.type == "symlink" else ""
            shown = entry.path + ("/" if entry.type == "dir" else "")
            out.result(f"{entry.type[0]} {node.size or 0:>14,} {when}  {shown}{extra}")
    out.summary({"snapshot_id": snap.snapshot_id, "entries": count})
    return EXIT_OK


def restore(args: argparse.Namespace, out: Printer) -> int:

    from .at_option import open_for

    repo, ref = open_for(args, out, full=True)
    with repo.reading("restore"):
        return _restore(args, repo, repo.find_snapshot(ref), out)


def _restore(args: argparse.Namespace, repo: Repository, snap, out: Printer) -> int:
    from engine.folders.restore import preview
    from engine.folders.restore import restore as run_restore

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
    from engine.database.connection import resolve_password
    from engine.database.restore import restore_database

    target = resolve_password(named_database(args.into, "NEWNAME", "opendental_restored"), ask=db_password_prompt())
    from .at_option import open_for

    repo, ref = open_for(args, out, full=True)
    with repo.reading("restore-db"):
        snap = repo.find_snapshot(ref)
        result = restore_database(repo, snap, target, source_name=args.db, replace=args.replace,
                                  confirm=args.confirm, on_event=out)
    out.summary({"snapshot_id": snap.snapshot_id, "database": result.database, "target": result.target,
                 "tables": result.tables, "rows": result.rows, "seconds": round(result.seconds, 3),
                 "problems": list(result.problems)})
    return EXIT_INCOMPLETE if result.problems else EXIT_OK


def verify(args: argparse.Namespace, out: Printer) -> int:
    from engine.database.connection import parse_url, resolve_password
    from engine.verify import verify_snapshot

    repo = _open(args, out, full=True)
    with repo.reading("verify"):  # from choosing the snapshot on (verify_snapshot holds its own too)
        snap = repo.find_snapshot(args.snapshot)
        server = parse_url(args.server) if args.server else None
        report, text_path, json_path = verify_snapshot(
            repo, snap, server=server, keep=args.keep, images_folder=_images_setting(),
            password_for=lambda t: resolve_password(t, ask=db_password_prompt()), on_event=out)
    out.summary({"snapshot_id": snap.snapshot_id, "ok": report.ok, "problems": report.problems,
                 "report_text": text_path, "report_json": json_path})
    return EXIT_OK if report.ok else EXIT_DAMAGED


def _images_setting() -> str:
    """The settings' A to Z folder (``folders.images``); empty without (usable) settings."""
    from engine.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError:
        return ""
    return settings.images_folder if settings else ""


def demo(args: argparse.Namespace, out: Printer) -> int:
    import platformdirs

    from engine.database.connection import connect, parse_url, resolve_password
    from engine.opendental.demo import create_demo

    target = resolve_password(parse_url(args.server), ask=db_password_prompt())
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

    repo = _open(args, out, full=args.read_data)
    result = checkmod.check(repo, read_data=args.read_data, on_event=out)
    out.summary({"ok": result.ok, "errors": result.errors, "warnings": result.warnings,
                 "damaged": result.damaged})
    if not result.ok:
        raise RepositoryDamaged(f"Check found {len(result.errors)} error(s).")
    return EXIT_OK


def unlock(args: argparse.Namespace, out: Printer) -> int:
    from engine.repository.lock import clear_stale

    repo = _open(args, out, full=False)
    holder = clear_stale(repo.backend, repo.keys.maint_key, force=args.force)
    if holder is None:
        out.result("The repository was not locked.")
    else:
        out.result(f"Removed the lock of {holder.describe()}.")
    return EXIT_OK


def _given_policy(args: argparse.Namespace):
    """The --keep-* rules as a Policy (None when no rule was given); with --save-policy and no
    rule, the settings' [retention] (what the setup proposed)."""
    from engine.retention import Duration, Policy

    counts = {k: getattr(args, f"keep_{k}") for k in ("last", "hourly", "daily", "weekly", "monthly", "yearly")}
    try:
        within = Duration.parse(args.keep_within) if args.keep_within else Duration()
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    policy = Policy(**counts, within=within)
    if policy.empty and args.save_policy:
        from engine.settings import load_settings

        settings = load_settings()
        return settings.retention.policy() if settings is not None else None
    return None if policy.empty else policy


def forget(args: argparse.Namespace, out: Printer) -> int:
    from engine.forget import forget as run_forget

    given = _given_policy(args)
    repo = _open(args, out, full=False)
    result = run_forget(repo, given, save=args.save_policy, dry_run=args.dry_run, with_prune=args.prune,
                        wait=args.wait * 60, on_event=out)
    verb = "Would remove" if args.dry_run else "Removed"
    out.result(f"Policy ({result.policy_source}): {result.policy.describe()}.")
    if result.policy_source == "saved" and not args.dry_run:
        out.result("It is now stored in the repository; this machine's scheduled maintenance applies it.")
    out.result(f"{verb} {len(result.removed)} snapshot(s), kept {len(result.decision.keep)}. "
               "Verification reports are kept.")
    doc = {"policy": result.policy.describe(), "policy_source": result.policy_source, "dry_run": args.dry_run,
           "kept": [s.snapshot_id for s in result.decision.keep], "removed": list(result.removed)}
    if result.pruned is not None:
        doc["prune"] = _prune_summary(result.pruned)
    if result.estimate is not None:
        out.result(f"Forgetting them would free about {size(result.estimate.bytes_freed)} "
                   "(after a prune)" + (f"; {size(result.estimate.bytes_unused_now)} is unused already."
                                        if result.estimate.bytes_unused_now else "."))
        doc["would_free"] = result.estimate.bytes_freed
        doc["unused_now"] = result.estimate.bytes_unused_now
    out.summary(doc)
    return EXIT_OK


def prune(args: argparse.Namespace, out: Printer) -> int:
    from engine.forget import take_lock
    from engine.repository.prune import prune as run_prune

    repo = _open(args, out, full=False)
    lock = take_lock(repo, "prune", mode="read" if args.dry_run else "delete", wait=args.wait * 60)
    with lock:
        result = run_prune(repo, lock, dry_run=args.dry_run, on_event=out)
    out.summary(_prune_summary(result))
    return EXIT_OK


def _prune_summary(result) -> dict:
    return {"snapshots": result.snapshots, "packs_deleted": result.packs_deleted,
            "packs_written": result.packs_written, "bytes_freed": result.bytes_freed,
            "bytes_to_free": result.bytes_to_free, "seconds": round(result.seconds, 3), "dry_run": result.dry_run}


# --- jobs and the schedule ---------------------------------------------------------------------------


def _use_folders(args: argparse.Namespace) -> None:
    """``--config-dir`` / ``--cache-dir`` / ``--log-dir``: this run's folders (a scheduled run as
    root or SYSTEM uses the settings of the user who installed the schedule)."""
    for option, variable in (("config_dir", "ODBACKUP_CONFIG_DIR"), ("cache_dir", "ODBACKUP_CACHE_DIR"),
                             ("log_dir", "ODBACKUP_LOG_DIR")):
        value = getattr(args, option, None)
        if value:
            os.environ[variable] = os.path.abspath(value)


def _stop_on_sigterm() -> None:
    """SIGTERM (systemd's time limit, a shutdown) stops a run as Ctrl+C does: locks released, the
    run recorded. (Windows ends a task without a signal; the next run clears what it left.)"""
    import signal

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    if hasattr(signal, "SIGTERM") and os.name != "nt":
        signal.signal(signal.SIGTERM, stop)


def run_job(args: argparse.Namespace, out: Printer) -> int:
    from dataclasses import asdict

    from engine import jobs

    from .joblog import JobLog

    _use_folders(args)
    job = jobs.get_job(args.job)
    log = JobLog(job.name)
    log.write(f"Run of {job.name} ({'scheduled' if args.scheduled else 'started by hand'}): {job.description}.")

    def on_event(event) -> None:
        log(event)
        out(event)

    _stop_on_sigterm()
    record = jobs.run(job, None, on_event=on_event, trigger="schedule" if args.scheduled else "manual",
                      force=args.force)
    log.write(f"{record.result}: {record.message}", "INFO" if record.result == "ok" else
              "WARN" if record.result in ("skipped", "incomplete") else "ERROR")
    if isinstance(out, JsonPrinter):
        out.summary(asdict(record))
    elif record.result == "ok":
        out.result(record.message)
    else:
        out.info(f"{job.name} {record.result.upper()}: {record.message}")
    return record.exit_code


EXIT_STATUS = {"ok": 0, "warning": 8, "critical": 9}
"""``odbackup status``'s exit code by the most urgent alert's level."""


def status(args: argparse.Namespace, out: Printer) -> int:
    """What needs attention (engine/status.py's alerts) and the next runs; the exit code says how bad."""
    from engine.status import alerts, gather_state
    from engine.upcoming import upcoming

    from .printers import status_lines, status_summary

    _use_folders(args)
    settings = _schedule_settings()
    state = gather_state(settings, patient_files=True)
    now = datetime.now().astimezone()
    found = alerts(settings, state, now)
    level = max((a.level for a in found), key=list(EXIT_STATUS).index)
    nexts = upcoming(settings, state.schedule, now)
    if isinstance(out, JsonPrinter):
        out.summary(status_summary(state, found, nexts, level, EXIT_STATUS[level]))
    else:
        for line in status_lines(state, found, nexts, now):
            out.result(line)
    return EXIT_STATUS[level]


def _schedule_settings(required: bool = True):  # noqa: ANN202 - engine.settings.Settings | None
    from engine.settings import SettingsError, load_settings, settings_path

    settings = load_settings()
    if settings is None and not required:
        return None  # remove and show work without settings
    if settings is None:
        raise SettingsError(f"There are no saved settings ({settings_path()}): run the setup first "
                            "('odbackup' alone opens it).")
    found = settings.schedule.problems()
    if found:
        raise SettingsError(" ".join(found))
    return settings


def schedule(args: argparse.Namespace, out: Printer) -> int:
    from engine.schedule import install as inst

    _use_folders(args)
    settings = _schedule_settings(required=args.action == "install" or args.print)
    calendars = settings.calendars() if settings is not None else {}
    jobs = inst.scheduled_jobs(calendars)
    account = _task_account(args, settings)
    if args.print:
        if args.action == "remove":
            raise UsageError("--print goes with install or show: it writes what install would.")
        out.result(_rendered(args.kind or _default_kind(), jobs, account).rstrip("\n"))
        return EXIT_OK
    kind = args.kind or _kind_for(args.action, out)
    module = inst.installer(kind)
    if args.action == "install":
        _ready_to_run(settings, out)
        if kind == "windows":
            done = module.install(jobs, account, console=True)
        else:
            if account:
                out.info(f"warning: the account '{account}' is for Windows tasks; {kind} runs the jobs as this "
                         "user (as root when installed by root).")
            done = module.install(jobs)
        for line in done:
            out.info(line)
        if kind == "cron" and not inst.cron_running():
            out.info("warning: cron is not running on this machine: nothing will start these lines until it does.")
    elif args.action == "remove":
        for line in module.remove():
            out.info(line)
    return _show_schedule(kind, module, calendars, out)


def _task_account(args: argparse.Namespace, settings) -> str:  # noqa: ANN001 - engine.settings.Settings
    """The Windows account the tasks run as: --account, else the saved schedule.account ("" is SYSTEM)."""
    from engine.schedule.windows import account_problem

    account = args.account if args.account is not None else (settings.schedule.account if settings else "")
    problem = account_problem(account)
    if problem:
        raise UsageError(problem)
    return account


def _ready_to_run(settings, out: Printer) -> None:  # noqa: ANN001 - engine.settings.Settings
    """Before installing: settings a run can use (else refused), and this machine enrolled (else a
    warning: the runs would fail until it is, and the drive may simply be unplugged right now)."""
    from engine.errors import NoCredentials
    from engine.errors import OdbackupError as EngineError
    from engine.settings import SettingsError

    found = settings.problems()
    if found:
        raise SettingsError("The saved settings cannot run a backup yet: " + " ".join(found))
    try:
        Repository.open(settings.repository).use_machine_credentials()
    except NoCredentials:
        out.info(f"warning: this machine is not enrolled for {settings.repository}: every scheduled run will "
                 f"fail until 'odbackup enroll --repo {settings.repository}' is run once.")
    except EngineError as exc:
        out.info(f"warning: the repository cannot be opened now ({exc.message}); the runs will need it.")


def _kind_for(action: str, out: Printer) -> str:
    """The scheduler to use. Installing needs one that runs; showing and removing read cron's
    file (or crontab) when none runs, so a schedule left from before is still seen and removed."""
    from engine.schedule import install as inst

    try:
        return inst.available_kind()
    except inst.NoScheduler as exc:
        if action == "install":
            raise
        out.info(f"warning: {exc.message}")
        return "cron"


def _default_kind() -> str:
    from engine.schedule import install as inst

    try:
        return inst.available_kind()
    except inst.NoScheduler:
        return "systemd"


def _rendered(kind: str, jobs: list, account: str = "") -> str:
    """What install would write, as text: each file after a ``### NAME`` line (cron: one file)."""
    from engine.schedule import install_cron, install_systemd, install_windows

    if kind == "cron":
        return install_cron.render(jobs, system=install_cron.system_wide())
    parts = []
    for job in jobs:
        if kind == "systemd":
            for name, text in install_systemd.render(job).items():
                parts.append(f"### {name} (in {install_systemd.unit_dir()})\n{text}")
        else:
            parts.append(f"### {install_windows.task_path(job.name)}\n"
                         f"{install_windows.task_xml(job, datetime.now().date(), account)}")
    return "\n".join(parts) if parts else "# Every scheduled job is off in the settings: nothing to install."


def _show_schedule(kind: str, module, calendars: dict, out: Printer) -> int:  # noqa: ANN001
    from engine.jobsettings import SCHEDULED_JOBS

    states = module.show(SCHEDULED_JOBS)
    if isinstance(out, JsonPrinter):
        out.summary({"scheduler": kind, "where": module.where(),
                     "jobs": [{"job": s.job, "on_in_settings": s.job in calendars,
                               "when": calendars[s.job].describe() if s.job in calendars else None,
                               "registered": s.registered, "enabled": s.enabled, "next_run": s.next_run,
                               "detail": s.detail} for s in states]})
        return EXIT_OK
    out.result(f"Schedule ({kind}, {module.where()}):")
    for s in states:
        wanted = calendars[s.job].describe() if s.job in calendars else "off in the settings"
        if not s.registered:
            have = "NOT installed"
        else:
            have = ("installed and enabled" if s.enabled else "installed but NOT enabled") + \
                   (f", next run {s.next_run}" if s.next_run else "")
        out.result(f"  {s.job:<12} {have} ({wanted}; {s.detail})")
    return EXIT_OK
