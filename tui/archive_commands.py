"""``odbackup archive add|list|remove|search``: the archive drives, without the app.

The drives themselves are copied to by ``odbackup run archive`` (engine/archive/job.py).
"""
from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from datetime import UTC, datetime

from engine.errors import UsageError

from .commands import EXIT_OK, JsonPrinter, Printer
from .secrets_input import ask_secret, new_passphrase


def add_parser(add: Callable[..., argparse.ArgumentParser], json_arg: Callable[[argparse.ArgumentParser], None],
               descriptions: dict[str, str]) -> None:
    """``odbackup archive ACTION`` and its actions."""
    archive = add("archive", _usage, "archive drives: add one, list them, forget one, where to look for them")
    sub = archive.add_subparsers(dest="archive_command", metavar="ACTION")

    def action(name: str, func: Callable, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=descriptions.get(name, help_text))
        p.set_defaults(func=func)
        json_arg(p)
        return p

    p = action("add", add_drive, "make a blank drive (or an empty folder on it) an archive drive")
    p.add_argument("path", metavar="PATH", help="an empty folder on the drive (or the drive itself when blank)")
    p.add_argument("--label", required=True, metavar="TEXT", help="its name, e.g. 'Drive B, kept at home'")
    p.add_argument("--monthly", action="store_true",
                   help="a monthly archive drive: keeps everything; sealed when full")
    p.add_argument("--repo", metavar="REPO", help="the main repository (default: the saved settings')")
    action("list", list_drives, "the archive drives: where each is now, last copy, snapshots, room, rotation")
    p = action("remove", remove_drive, "forget an archive drive (nothing on the drive is touched)")
    p.add_argument("drive", metavar="LABEL", help="its label (or the start of its repository ID)")
    p = action("search", search_folders, "folders to look for archive drives in, besides the system's mount points")
    p.add_argument("folders", nargs="*", metavar="DIR", help="add these (none: list them)")
    p.add_argument("--remove", action="store_true", help="remove these folders instead")


def _usage(args: argparse.Namespace, out: Printer) -> int:
    raise UsageError("Say what to do: odbackup archive add|list|remove|search (odbackup archive --help).")


def _main_location(args: argparse.Namespace) -> str:
    if args.repo:
        return str(args.repo)
    from engine.settings import load_settings

    settings = load_settings()
    if settings is None or not settings.repository:
        raise UsageError("There is no main repository in the saved settings: give it with --repo REPO.")
    return settings.repository


def _retention_policy():
    """The settings' retention (a rotating drive's when the main repository stores none)."""
    from engine.jobsettings import RetentionSettings
    from engine.settings import load_settings

    settings = load_settings()
    return (settings.retention if settings is not None else RetentionSettings()).policy()


def _backed_up() -> tuple[str, ...]:
    """The saved settings' folders (none without settings)."""
    from engine.settings import load_settings

    settings = load_settings()
    return settings.folders if settings is not None else ()


def add_drive(args: argparse.Namespace, out: Printer) -> int:
    from engine.archive.enroll import add_drive as add
    from engine.archive.enroll import retention_for
    from engine.recovery import looks_like_recovery_key
    from engine.repository.repo import Repository

    main = Repository.open(_main_location(args))
    secret = ask_secret(f"Passphrase of {main.location}: ")
    if secret is None:
        raise UsageError("Adding an archive drive needs the passphrase of the main repository: set "
                         "ODBACKUP_PASSPHRASE or run on a terminal.")
    main.unlock(secret)
    given_recovery = looks_like_recovery_key(secret)
    passphrase = new_passphrase("ODBACKUP_NEW_PASSPHRASE") if given_recovery else secret
    kind = "monthly" if args.monthly else "rotating"
    policy = retention_for(kind, main, _retention_policy())
    added = add(args.path, args.label, kind, main, passphrase, policy,
                main_recovery_key=secret if given_recovery else None, backed_up=_backed_up())
    drive = added.drive
    if isinstance(out, JsonPrinter):
        out.summary({"repository_id": drive.repo_id, "label": drive.label, "kind": drive.kind,
                     "location": drive.hint, "created": added.created, "recovery_key": added.recovery_key,
                     "recovery_key_of": main.repo_id if added.created and not added.recovery_key else None,
                     "policy": policy.describe() if policy else None})
        return EXIT_OK
    made = "Made" if added.created else "Added the existing archive repository at"
    out.result(f"{made} {drive.hint} the {kind} archive drive '{drive.label}' (ID {drive.repo_id[:8]}).")
    out.result("It is recognized by its ID wherever it is plugged in; 'odbackup run archive' copies to it.")
    if policy is not None:
        out.result(f"Its retention: {policy.describe()}.")
    if added.created and not added.recovery_key:
        out.result("The practice's passphrase and the main repository's recovery key open it.")
    if added.recovery_key:
        out.result("")
        out.result(f"{main.location} was made by an older odbackup, so its recovery key does not open this drive:")
        out.result("RECOVERY KEY of this drive (shown only this once):")
        out.result("")
        out.result(f"    {added.recovery_key}")
        out.result("")
        out.result("Write it down and keep it apart from the drive. The practice's passphrase opens it too.")
    return EXIT_OK


def list_drives(args: argparse.Namespace, out: Printer) -> int:
    from engine.archive.drives import blank_drives, load_book, locate_all
    from engine.archive.forecast import room_words, rotation_due

    book = load_book()
    now = datetime.now(UTC)
    rows: list[dict] = []
    spots = locate_all(book)
    for spot in spots:
        d = spot.drive
        rows.append({"label": d.label, "kind": d.kind, "repository_id": d.repo_id, "location": spot.place,
                     "plugged_in": spot.place is not None, "last_seen": d.hint, "last_copy": d.last_copy,
                     "snapshots": d.snapshots, "free_bytes": d.free_bytes, "room": room_words(d),
                     "rotation_due": rotation_due(d, book, now), "sealed": d.sealed,
                     "last_message": d.last_message})
    blank = blank_drives()
    if isinstance(out, JsonPrinter):
        out.summary({"drives": rows, "search_folders": list(book.search_folders), "rotate_days": book.rotate_days,
                     "blank_drives": blank})
        return EXIT_OK
    if not rows:
        out.result("No archive drive yet. Plug in a blank drive and run: odbackup archive add PATH --label NAME")
    for spot in spots:
        out.result(_drive_line(spot, book, now))
    for mount in blank:
        out.result(f"A drive without backups is plugged in at {mount}: make it an archive drive with "
                   f"'odbackup archive add {os.path.join(mount, 'odbackup')} --label NAME'.")
    return EXIT_OK


def _drive_line(spot, book, now: datetime) -> str:
    from engine.archive.forecast import room_words, rotation_due
    from engine.archive.job import FAILED_PREFIX

    d = spot.drive
    where = f"plugged in at {spot.place}" if spot.place else "not plugged in"
    last = _local(d.last_copy) if d.last_copy else "never"
    due = "; due to be swapped in" if rotation_due(d, book, now) else ""
    failed = f" ({d.last_message.rstrip('.')})" if d.last_message.startswith(FAILED_PREFIX) else ""
    return f"{d.label} ({d.kind}, {d.repo_id[:8]}): {where}; last copy {last}{failed}; {d.snapshots} snapshot(s); " \
           f"{room_words(d)}{due}."


def _local(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")


def remove_drive(args: argparse.Namespace, out: Printer) -> int:
    from engine.archive.drives import load_book, update_book

    drive = load_book().find(args.drive)
    update_book(lambda book: book.without(drive.repo_id))
    out.result(f"'{drive.label}' is no longer an archive drive here; nothing on the drive was changed.")
    out.summary({"removed": drive.repo_id, "label": drive.label})
    return EXIT_OK


def search_folders(args: argparse.Namespace, out: Printer) -> int:
    from dataclasses import replace

    from engine.archive.drives import load_book, update_book

    wanted = [os.path.abspath(f) for f in args.folders]
    missing = [f for f in wanted if not args.remove and not os.path.isdir(f)]
    if missing:
        raise UsageError(f"{missing[0]} is not a folder.")

    def change(book):
        kept = [f for f in book.search_folders if not (args.remove and f in wanted)]
        added = [f for f in wanted if not args.remove and f not in kept]
        return replace(book, search_folders=tuple(kept + added))

    book = update_book(change) if wanted else load_book()
    for folder in book.search_folders:
        out.result(folder)
    out.summary({"search_folders": list(book.search_folders)})
    return EXIT_OK
