"""The journal of a folder restore: what lets a restore cut short (a crash, kill -9, a power
cut, Ctrl+C) be finished exactly by running the same restore again.

Before creating anything, a restore writes its journal beside the folder it restores into,
``<folder>.odbackup-restore-unfinished.json``: which snapshot, which paths, and every folder,
file and link it is about to create. The journal is removed when the restore has gone through
everything; while it is there, the folder's restore is unfinished.

How a file is written depends on where. Into a folder nobody works in (a new restore folder),
a new file is written under its real name, and its name is first appended to the journal
("started"); its modification time, set last, is the backup's only once it is whole. (A
temporary name and a rename per file made the restore about a fifth slower there: see
docs/BENCHMARKS.md.) Into a live folder (``--original``, or a folder the backup came from),
every file is written under a temporary name (``.odbackup-partial-`` and a name derived from
the file's own, in the same folder) and takes its real name only when whole, dated and, with
``--verify``, checked: nothing half-written ever stands under a real name there.

Run again, the same restore reads the journal. A file of the journal found on disk with the
backup's size and modification time is whole and kept (with ``--verify``, read back first and
written again if its bytes differ); one marked started, or with the backup's time but another
size (what a power cut can leave), is the restore's own, unfinished, and written again; partly
written temporary files are removed. Anything else already there (not in the journal, or in it
but neither started nor dated as in the backup: someone put it there meanwhile) is never
overwritten. A journal of a different restore (another snapshot, other paths, another mode)
is refused with a message naming it.

The journal is JSON lines: a header (what the restore is, and what it creates), then one
started file per line, appended as the restore goes (a few dozen at a time, as they are handed
to the workers: a file marked started may not exist yet). It is rewritten whole (under a temporary
name, then ``os.replace``) only before anything is created, so it is the old one or the new
one, on Windows too; only its last appended line can be cut short, and is then ignored.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..errors import UnsafePath

JOURNAL_SUFFIX = ".odbackup-restore-unfinished.json"
"""Beside the folder being restored into, while its restore is unfinished."""
PARTIAL = ".odbackup-partial-"
"""The start of the temporary name a file is written under until it is whole."""
FORMAT = 1
NOTE = ("An odbackup restore into the folder beside this file has not finished. Run the same restore "
        "again to finish it: what it already restored whole is kept, the rest is written. Until then "
        "files may be missing from that folder, and the files named on the lines below this one may be "
        "unfinished (a file is whole once it bears the backup's modification time).")


@dataclass
class Journal:
    """One folder's restore: what it is (``snapshot_id``, ``selected`` paths, ``overwrite``) and
    the snapshot paths of the folders, files and links it created or is about to create (``own``).
    ``stamp`` names the folder where replaced files are kept, the same across re-runs."""

    path: str
    snapshot_id: str
    selected: tuple[str, ...]
    overwrite: bool
    stamp: str
    own: set[str] = field(default_factory=set)
    started: set[str] = field(default_factory=set)
    resumed: bool = False

    def same_restore(self, other: Journal) -> bool:
        """Is ``other`` (read from disk) a journal of this same restore?"""
        return (other.snapshot_id, other.selected, other.overwrite) == \
               (self.snapshot_id, self.selected, self.overwrite)


def journal_path(base: str) -> str:
    """Where the journal of a restore into the folder ``base`` lives (beside it)."""
    return base.rstrip("/" + os.sep) + JOURNAL_SUFFIX


def partial_path(dest: str) -> str:
    """The temporary name ``dest`` is written under: in its folder, the same for every run."""
    name = os.fsencode(os.path.basename(dest))
    return os.path.join(os.path.dirname(dest), PARTIAL + hashlib.blake2b(name, digest_size=10).hexdigest())


def read(path: str) -> Journal | None:
    """The journal at ``path``, or None when there is none."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        doc = json.loads(lines[0])
        return Journal(path, doc["snapshot"], tuple(doc["selected"]), bool(doc["overwrite"]), doc["stamp"],
                       set(doc["own"]), _started(lines[1:]), resumed=True)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise UnsafePath(
            f"The journal of an unfinished restore, '{path}', cannot be read ({exc}).",
            hint="Delete that file to restore anew: files already in the folder are then never overwritten "
                 "(each is reported as already there).") from exc


def _started(lines: list[str]) -> set[str]:
    found = set()
    for line in lines:
        try:
            found.add(json.loads(line))
        except ValueError:
            pass  # the last line, cut short by a crash: that file had not been created yet
    return found


def check_same(found: Journal, wanted: Journal) -> None:
    """Refuse to mix two restores in one folder: ``found`` on disk must be ``wanted``'s journal."""
    if found.same_restore(wanted):
        return
    what = ", ".join(found.selected)
    raise UnsafePath(
        f"An unfinished restore of snapshot {found.snapshot_id[:8]} ({what}"
        f"{', overwriting' if found.overwrite else ''}) is recorded in '{found.path}'.",
        hint="Run that same restore again to finish it first; or delete that file to restore something "
             "else there (files already in the folder are then never overwritten).")


def write(journal: Journal) -> None:
    """Put the journal on disk whole (the old one, if any, is replaced in one step)."""
    doc = {"odbackup_restore_journal": FORMAT, "note": NOTE, "snapshot": journal.snapshot_id,
           "selected": list(journal.selected), "overwrite": journal.overwrite, "stamp": journal.stamp,
           "written": datetime.now(UTC).isoformat(timespec="seconds"), "own": sorted(journal.own)}
    temp = journal.path + ".tmp"
    with open(temp, "w", encoding="utf-8") as f:  # ASCII: names that are not valid UTF-8 survive as escapes
        f.write(json.dumps(doc) + "\n")
        f.writelines(json.dumps(rel) + "\n" for rel in sorted(journal.started))
    os.replace(temp, journal.path)


class StartLog:
    """Appends to a journal, one line each, the files about to be created under their real names."""

    def __init__(self, journal: Journal) -> None:
        self._fd = os.open(journal.path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_BINARY", 0))

    def started(self, rels: list[str]) -> None:
        """In one write (not flushed to the disk: a crash of the process keeps it)."""
        os.write(self._fd, "".join(json.dumps(rel) + "\n" for rel in rels).encode("ascii"))

    def close(self) -> None:
        os.close(self._fd)  # before the journal is removed (Windows removes no open file)


def remove(journal: Journal) -> None:
    """The restore went through everything: the folder no longer looks unfinished."""
    try:
        os.remove(journal.path)
    except FileNotFoundError:
        pass
