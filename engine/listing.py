"""The snapshot list: every snapshot, its size, and whether (and how) it was verified.

``odbackup snapshots`` (text and JSON), the app's Snapshots screen and the
dashboard's recent backups all show these rows. Machine credentials are
enough: a snapshot's header and its verification's verdict are sealed with
the maintenance key; only its sources (folder and database names) need the
passphrase or recovery key.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .reports import verifications
from .repository.records import SnapshotStats
from .repository.repo import Repository
from .repository.snapshot import Snapshot

SOURCES_HIDDEN = ("opened with this machine's write-only credentials, which cannot read what a snapshot "
                  "holds (its folder and database names are encrypted): give the passphrase to see them")
"""Why a snapshot's sources are not shown (``snapshots --json`` gives ``"sources": null``)."""


@dataclass(frozen=True)
class ListedSource:
    """A folder or database a snapshot holds."""

    name: str
    """As the snapshot names it: ``OpenDentImages``, ``opendental``."""
    where: str
    """The folder's path, or ``SERVER/DATABASE``."""


@dataclass(frozen=True)
class SnapshotRow:
    """One snapshot in the list; a damaged one has only its ID, ``damaged`` and ``problem``."""

    snapshot_id: str
    time: str = ""
    hostname: str = ""
    complete: bool = False
    files: int = 0
    bytes: int = 0
    """Folders and databases (see :func:`backed_up_bytes`)."""
    bytes_added: int = 0
    verified_at: str | None = None
    """When its latest verification ran (None: never verified)."""
    verified_ok: bool | None = None
    """That verification's verdict."""
    sources: tuple[ListedSource, ...] | None = None
    """None when the repository was opened without the passphrase (``sources_hidden`` says why)."""
    sources_hidden: str | None = None
    stats: SnapshotStats | None = None
    """The snapshot's figures as stored (``snapshots --json`` gives them whole); None when damaged."""
    damaged: bool = False
    problem: str | None = None
    """Why a damaged snapshot cannot be used."""

    @property
    def short_id(self) -> str:
        return self.snapshot_id[:8]


def backed_up_bytes(stats: SnapshotStats) -> int:
    """What a snapshot backed up: its folders' files and its databases (``db_bytes``, as
    engine/backup.py writes it)."""
    return stats.backed_up_bytes


def list_snapshots(repo: Repository, checked: Mapping[str, tuple[str, bool]] | None = None) -> list[SnapshotRow]:
    """Every snapshot, oldest first, then the damaged ones (the repository must be unlocked).
    ``checked``: the verifications (``engine.reports.verifications``), when already read."""
    checked = verifications(repo) if checked is None else checked
    rows = [snapshot_row(s, *checked.get(s.snapshot_id, (None, None))) for s in repo.snapshots()]
    return rows + [SnapshotRow(snap_id, damaged=True, problem=repo.snapshot_problems[snap_id])
                   for snap_id in repo.damaged_snapshots]


def snapshot_row(snap: Snapshot, verified_at: str | None = None, verified_ok: bool | None = None) -> SnapshotRow:
    """One readable snapshot as a row."""
    return SnapshotRow(
        snap.snapshot_id, snap.time, snap.hostname, snap.complete, snap.stats.files,
        backed_up_bytes(snap.stats), snap.stats.bytes_added, verified_at, verified_ok,
        sources=_sources(snap), sources_hidden=None if snap.body else SOURCES_HIDDEN, stats=snap.stats)


def _sources(snap: Snapshot) -> tuple[ListedSource, ...] | None:
    if not snap.body:
        return None
    return tuple(ListedSource(src.name, src.where) for src in snap.body.sources)
