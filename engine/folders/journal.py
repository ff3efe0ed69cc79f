"""The journal of a folder restore: what lets a restore cut short (a crash, kill -9, a power
cut, Ctrl+C) be finished exactly by running the same restore again.

Every file a restore writes goes under a temporary name first (``.odbackup-partial-`` and a
name derived from the file's own, in the same folder) and takes its real name only once it
is whole, with its dates and mode: nothing half-written ever stands under a real name. Before
creating anything, the restore writes its journal beside the folder it restores into,
``<folder>.odbackup-restore-unfinished.json``: which snapshot, which paths, and every folder,
file and link it is about to create. The journal is removed when the restore has gone through
everything; while it is there, the folder's restore is unfinished.

Run again, the same restore reads the journal: an entry of the journal found on disk is the
restore's own (not a file someone else put there): kept when whole (same size and modification
time, and with ``--verify`` the same bytes), written again otherwise; partly written files are
removed and written again. Anything not in the journal is still never overwritten. A journal
of a different restore (another snapshot or other paths) is refused with a message naming it.

The journal is replaced whole (written under a temporary name, then ``os.replace``), so it is
either the old one or the new one, on Windows too.
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
NOTE = ("An odbackup restore into the folder beside this file did not finish. Run the same restore "
        "again to finish it: what it already restored is kept, the rest is written. Until then files "
        "may be missing from that folder (none is half-written under its real name).")


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
            doc = json.load(f)
        return Journal(path, doc["snapshot"], tuple(doc["selected"]), bool(doc["overwrite"]), doc["stamp"],
                       set(doc["own"]), resumed=True)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UnsafePath(
            f"The journal of an unfinished restore, '{path}', cannot be read ({exc}).",
            hint="Delete that file to restore anew: files already in the folder are then never overwritten "
                 "(each is reported as already there).") from exc


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
    with open(temp, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=0)  # ASCII: names that are not valid UTF-8 survive as escapes
    os.replace(temp, journal.path)


def remove(journal: Journal) -> None:
    """The restore went through everything: the folder no longer looks unfinished."""
    try:
        os.remove(journal.path)
    except FileNotFoundError:
        pass
