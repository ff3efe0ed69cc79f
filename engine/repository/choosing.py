"""Which snapshot a reference names: ``latest``, an ID prefix, or a local date or date and time.

A damaged snapshot file (one that cannot be read, or names something unsafely)
is never stepped over. Its time cannot be read, but its file was written at
the end of its backup, so the file's time bounds it: when the damaged snapshot
may be the one asked for (by its ID; or as ``latest``, or the latest before a
date), :class:`SnapshotDamaged` names it, and the newest readable snapshot to
name instead. Silently answering with an older snapshot would restore last
week's files as if they were today's.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from ..errors import SnapshotDamaged, SnapshotNotFound
from .snapshot import Snapshot

LONGEST_BACKUP = timedelta(days=2)
"""No backup runs longer than this: a snapshot file written this long after a moment cannot hold a
snapshot taken before it."""


def choose_snapshot(ref: str, readable: list[Snapshot], damaged: dict[str, str],
                    written: Callable[[str], datetime]) -> Snapshot:
    """The snapshot ``ref`` names among ``readable`` (oldest first). ``damaged`` maps each damaged
    snapshot's ID to why; ``written`` tells when a snapshot's file was written."""
    if ref == "latest":
        pick = readable[-1] if readable else None
        _refuse_damaged(pick, None, readable, damaged, written)
        if pick is None:
            raise SnapshotNotFound("The repository has no snapshots yet.")
        return pick
    moment = parse_moment(ref)
    if moment is not None:
        earlier = [s for s in readable if datetime.fromisoformat(s.time) <= moment]
        pick = earlier[-1] if earlier else None
        _refuse_damaged(pick, moment, earlier, damaged, written)
        if pick is None:
            raise SnapshotNotFound(f"No snapshot was taken on or before {ref}.")
        return pick
    return _by_id(ref, readable, damaged)


def _by_id(ref: str, readable: list[Snapshot], damaged: dict[str, str]) -> Snapshot:
    prefix = ref.lower()
    matches = [s for s in readable if s.snapshot_id.startswith(prefix)]
    broken = [d for d in damaged if d.startswith(prefix)] if len(ref) >= 4 else []
    if len(matches) + len(broken) > 1:
        raise SnapshotNotFound(f"'{ref}' matches {len(matches) + len(broken)} snapshots; give more digits.")
    if broken:
        raise _damaged_error(broken[0], damaged, readable, named=True)
    if len(ref) < 4 or not matches:
        raise SnapshotNotFound(f"No snapshot matches '{ref}'.")
    return matches[0]


def _refuse_damaged(pick: Snapshot | None, moment: datetime | None, readable: list[Snapshot],
                    damaged: dict[str, str], written: Callable[[str], datetime]) -> None:
    """Raise when a damaged snapshot may be newer than ``pick`` (and not after ``moment``)."""
    suspects = [d for d in damaged if _may_be_between(written(d), pick, moment)]
    if suspects:
        raise _damaged_error(max(suspects, key=written), damaged, readable, named=False)


def _may_be_between(written: datetime, pick: Snapshot | None, moment: datetime | None) -> bool:
    """Could a snapshot whose file was written at ``written`` be newer than ``pick`` yet not after
    ``moment`` (None: no limit)? Its time is at most ``written`` (copying a repository can make
    ``written`` later, never earlier: the answer errs towards "yes")."""
    if pick is not None and written < datetime.fromisoformat(pick.time):
        return False
    return moment is None or written <= moment + LONGEST_BACKUP


def _damaged_error(snap_id: str, damaged: dict[str, str], readable: list[Snapshot], *,
                   named: bool) -> SnapshotDamaged:
    why = damaged.get(snap_id) or f"Snapshot {snap_id[:8]} is damaged."
    if not named:
        why += " It may be the one asked for, so no other snapshot was used in its place."
    if not readable:
        return SnapshotDamaged(why, hint="No readable snapshot can stand in for it. 'odbackup check' says more.")
    newest = readable[-1]
    when = datetime.fromisoformat(newest.time).astimezone().strftime("%Y-%m-%d %H:%M")
    return SnapshotDamaged(why, hint=f"To use an older snapshot, name it: the newest readable one is "
                                     f"{newest.short_id} (taken {when}). 'odbackup snapshots' lists them; "
                                     "'odbackup check' says more.")


def parse_moment(ref: str) -> datetime | None:
    """A local date or date-time as an aware datetime (end of day for a bare date).

    Only the dashed form counts (``2026-11-20``): Python also reads
    ``20261120`` as a date, which could be a snapshot ID prefix.
    """
    if "-" not in ref:
        return None
    try:
        moment = datetime.fromisoformat(ref.replace(" ", "T"))
    except ValueError:
        return None
    if len(ref) == 10:  # a bare date: the end of that day
        moment = moment.replace(hour=23, minute=59, second=59, microsecond=999999)
    return moment.astimezone() if moment.tzinfo is None else moment
