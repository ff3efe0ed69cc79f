"""Going back to a date and time across the main repository and the archive drives plugged in.

``--at "2026-11-03 14:00"`` (local time; a bare date means the end of that
day) names the newest snapshot taken at or before it, in whichever
repository holds it: the main one, or an archive drive that is plugged in
now (found by ID, :mod:`.drives`). When both hold snapshots equally new
(a copy keeps its ID), the main repository's is used. Each repository
chooses as ``find_snapshot`` does, so a damaged snapshot is never silently
stepped over within one repository; a repository that cannot answer (a
damaged candidate, a drive that cannot be read) is named, and the others
still answer.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from ..errors import OdbackupError, SnapshotNotFound, UsageError
from ..repository.choosing import parse_moment
from ..repository.repo import Repository
from ..repository.snapshot import Snapshot


@dataclass(frozen=True)
class Where:
    """A repository the snapshots may come from."""

    location: str
    label: str = ""
    """The archive drive's label; empty for the main repository."""

    @property
    def words(self) -> str:
        return f"the archive drive '{self.label}' ({self.location})" if self.label else \
            f"the main repository ({self.location})"


@dataclass(frozen=True)
class Pick:
    """The snapshot ``--at`` names, and where it is."""

    where: Where
    repo: Repository
    snapshot: Snapshot
    unanswered: tuple[str, ...] = ()
    """Repositories that could not answer, and why (said as warnings)."""


def moment_text(text: str) -> str:
    """``--at``'s value checked: a local date or date and time (raises UsageError in plain words)."""
    if parse_moment(text.strip()) is None:
        raise UsageError(f"'{text}' is not a date and time: write it like \"2026-11-03 14:00\" or 2026-11-03.")
    return text.strip()


def archives_present(main: Repository) -> Iterator[tuple[Where, Repository]]:
    """The archive drives of ``main`` plugged in now, each opened with ``main``'s keys."""
    from .drives import ArchiveError, load_book, locate_all

    try:
        book = load_book()
    except ArchiveError:
        return
    for spot in locate_all(book):
        if spot.place is None:
            continue
        repo = Repository.open(spot.place)
        if repo.repo_id != main.repo_id and repo.related_to(main):
            repo.use_family_keys(main)
            yield Where(repo.location, spot.drive.label), repo


def newest_at(text: str, candidates: list[tuple[Where, Repository]]) -> Pick:
    """The newest snapshot at or before ``text`` among ``candidates`` (the main repository first)."""
    ref = moment_text(text)
    found: list[tuple[Where, Repository, Snapshot]] = []
    unanswered: list[str] = []
    errors: list[OdbackupError] = []
    for where, repo in candidates:
        try:
            found.append((where, repo, repo.find_snapshot(ref)))
        except SnapshotNotFound:
            continue
        except (OdbackupError, OSError) as exc:
            errors += [exc] if isinstance(exc, OdbackupError) else []
            unanswered.append(f"{where.words}: {getattr(exc, 'message', None) or exc}")
    if not found:
        if errors:
            raise errors[0]
        names = "; ".join(w.words for w, _r in candidates)
        raise SnapshotNotFound(f"No snapshot was taken on or before {ref} in {names}.")
    newest = max(datetime.fromisoformat(s.time) for _w, _r, s in found)
    where, repo, snap = next(f for f in found if datetime.fromisoformat(f[2].time) == newest)
    return Pick(where, repo, snap, tuple(unanswered))
