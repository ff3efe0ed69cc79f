"""``--at "2026-11-03 14:00"`` of ``snapshots``, ``ls``, ``restore`` and ``restore-db``: the newest
snapshot at or before that local time, in the main repository or an archive drive plugged in
(engine/archive/at.py), with which repository it came from said.

With ``--at`` the SNAPSHOT argument is not given: a word in its place is the PATH of ``ls``
or the first PATH of ``restore``.
"""
from __future__ import annotations

import argparse

from engine.errors import UsageError
from engine.repository.repo import Repository

from .commands import JsonPrinter, Printer, _open


def add_at_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--at", metavar="WHEN",
                   help="the newest snapshot at or before this local date and time (\"2026-11-03 14:00\"), "
                        "in this repository or an archive drive plugged in")


def open_for(args: argparse.Namespace, out: Printer, *, full: bool) -> tuple[Repository, str]:
    """The repository to read and the snapshot reference to find in it (under its reader's lock)."""
    if not getattr(args, "at", None):
        if not args.snapshot:
            raise UsageError("Name a SNAPSHOT (an ID, 'latest' or a date), or give --at \"DATE TIME\".")
        return _open(args, out, full=full), args.snapshot
    _shift_positional(args)
    pick = pick_at(args, out, full=full)
    return pick.repo, pick.snapshot.snapshot_id


def _shift_positional(args: argparse.Namespace) -> None:
    word = args.snapshot
    if word is None:
        return
    if args.command == "ls":
        if args.path is not None:
            raise UsageError("With --at, give at most one PATH (no SNAPSHOT).")
        args.path = word
    elif args.command == "restore":
        args.paths = [word, *args.paths]
    else:
        raise UsageError("With --at, give no SNAPSHOT: --at chooses it.")
    args.snapshot = None


def pick_at(args: argparse.Namespace, out: Printer, *, full: bool):
    """Choose the snapshot ``--at`` names across the repositories present, and say where it is."""
    from engine.archive.at import Where, archives_present, newest_at

    main = _open(args, out, full=full)
    candidates = [(Where(main.location), main), *archives_present(main)]
    pick = newest_at(args.at, candidates)
    for words in pick.unanswered:
        out.info(f"warning: {words}")
    if not isinstance(out, JsonPrinter):
        out.info(f"Snapshot {pick.snapshot.snapshot_id[:8]} (taken {_local(pick.snapshot.time)}) from "
                 f"{pick.where.words}.")
    else:
        out.emit({"event": "snapshot_chosen", "id": pick.snapshot.snapshot_id, "time": pick.snapshot.time,
                  "repository": pick.where.location, "archive_drive": pick.where.label or None})
    return pick


def _local(iso: str) -> str:
    from datetime import datetime

    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def snapshots_at(args: argparse.Namespace, out: Printer) -> int:
    """``snapshots --at WHEN``: the one snapshot chosen, and the repository it is in."""
    from engine.listing import list_snapshots

    from .commands import EXIT_OK, _snapshot_json, _snapshot_line

    pick = pick_at(args, out, full=False)
    rows = [row for row in list_snapshots(pick.repo) if row.snapshot_id == pick.snapshot.snapshot_id]
    if isinstance(out, JsonPrinter):
        for row in rows:
            out.emit(_snapshot_json(row) | {"repository": pick.where.location,
                                            "archive_drive": pick.where.label or None})
        out.summary({"snapshots": len(rows), "repository": pick.where.location,
                     "archive_drive": pick.where.label or None})
        return EXIT_OK
    for row in rows:
        out.result(_snapshot_line(row))
    return EXIT_OK
