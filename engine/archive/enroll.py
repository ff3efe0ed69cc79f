"""Making a drive an archive drive (``odbackup archive add``), with the passphrase at hand.

What is at ``place`` decides, and nothing is ever written into a folder that
holds something else:

- nothing (a missing or empty folder: a blank drive, or a new folder on one):
  a repository *related* to the main one is created there (its own ID, the
  label, its own recovery key), this machine is enrolled for it, and a
  rotating drive gets the retention policy, signed, that its runs apply;
- a repository related to the main one (a drive made on another machine, or
  taken out of the book): it is added as it is (its policy set again for a
  rotating drive);
- anything else (files, or another practice's repository): refused.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import NeedsPassphrase, UsageError
from ..places import inside
from ..repository import keys as keymod
from ..repository.policy import save_policy
from ..repository.repo import Repository
from ..retention import Policy
from .drives import KINDS, ArchiveDrive, load_book, repo_id_at, update_book


@dataclass(frozen=True)
class AddedDrive:
    """What :func:`add_drive` did."""

    drive: ArchiveDrive
    created: bool
    """A new repository was made on the drive."""
    recovery_key: str | None
    """The new repository's own recovery key, shown once; None when the main repository's recovery key
    opens it (FORMAT.md 10.4) or it was there already."""
    credentials: str
    """This machine's write-only credentials file for the drive."""


def add_drive(place: str, label: str, kind: str, main: Repository, passphrase: str,
              policy: Policy | None, *, main_recovery_key: str | None = None,
              backed_up: tuple[str, ...] = ()) -> AddedDrive:
    """Make ``place`` an archive drive of ``main`` (unlocked with its full key) and add it to the book.
    ``passphrase``: the new repository's (the main one's); ``policy``: a rotating drive's retention;
    ``main_recovery_key``: the recovery key that unlocked ``main``, if it did (then it opens the drive
    even when ``main`` was made before the family recovery key); ``backed_up``: the folders the
    backups save (a drive inside one is refused: every backup would take the archive in too)."""
    place = os.path.abspath(place)
    label = label.strip()
    _refuse_wrong(place, label, kind, main, backed_up)
    main.require_full_key()
    existing = repo_id_at(place)
    if existing is None:
        archive, recovery = Repository.init_related(place, main, passphrase, label=label,
                                                    source_recovery_key=main_recovery_key)
    else:
        archive, recovery = _related_there(place, main), None
    credentials = keymod.enroll_machine(archive.keys, archive.location)
    if kind == "rotating" and policy is not None:
        save_policy(archive.backend, archive.keys.maint_key, archive.repo_id, archive.keys.data_private,  # type: ignore[arg-type]
                    policy)
    drive = ArchiveDrive(archive.repo_id, label, kind, hint=archive.location)
    update_book(lambda book: book.with_drive(_keep_history(book.drives, drive)))
    return AddedDrive(drive, existing is None, recovery, credentials)


def retention_for(kind: str, main: Repository, fallback: Policy) -> Policy | None:
    """A rotating drive keeps what the main repository keeps: its stored policy, else ``fallback``
    (the settings' retention). A monthly drive keeps everything (None)."""
    if kind != "rotating":
        return None
    from ..forget import stored_policy

    stored = stored_policy(main)
    return stored.policy if stored is not None else fallback


def add_with_passphrase(place: str, label: str, kind: str, main_location: str, passphrase: str,
                        fallback: Policy, backed_up: tuple[str, ...] = ()) -> AddedDrive:
    """:func:`add_drive` for a front end holding the main repository's passphrase (not its recovery
    key: the new drive's repository takes the passphrase as its own)."""
    from ..recovery import looks_like_recovery_key

    if looks_like_recovery_key(passphrase):
        raise NeedsPassphrase("Adding an archive drive takes the passphrase, not the recovery key.")
    main = Repository.open(main_location)
    main.unlock(passphrase)
    return add_drive(place, label, kind, main, passphrase, retention_for(kind, main, fallback), backed_up=backed_up)


def _refuse_wrong(place: str, label: str, kind: str, main: Repository, backed_up: tuple[str, ...]) -> None:
    if kind not in KINDS:
        raise UsageError(f"An archive drive is one of: {', '.join(KINDS)} (got '{kind}').")
    if not label:
        raise UsageError("Give the drive a label people will recognize, e.g. --label 'Drive B, kept at home'.")
    taken = [d for d in load_book().drives if d.label.lower() == label.lower() and d.hint != place]
    if taken:
        raise UsageError(f"Another archive drive is already called '{label}': choose another label.")
    root = os.path.abspath(main.location)
    if place == root or place.startswith(root.rstrip(os.sep) + os.sep):
        raise UsageError(f"{place} is the main repository or inside it: an archive drive must be another drive.")
    saved_in = next((folder for folder in backed_up if folder and inside(place, folder)), None)
    if saved_in:
        raise UsageError(f"{place} is inside {saved_in}, which the backups save: every backup would take the "
                         "archive in too. An archive drive must be another drive.")
    if repo_id_at(place) is None and os.path.isdir(place) and os.listdir(place):
        raise UsageError(f"{place} is not empty and holds no odbackup repository: nothing was written there.",
                         hint=f"Choose an empty folder on the drive, e.g. {os.path.join(place, 'odbackup-archive')}.")
    if os.path.lexists(place) and not os.path.isdir(place):
        raise UsageError(f"{place} is a file, not a folder on a drive.")


def _related_there(place: str, main: Repository) -> Repository:
    archive = Repository.open(place)
    if archive.repo_id == main.repo_id:
        raise UsageError(f"{place} is the main repository itself (a copy of its folder?): it cannot be its archive.")
    if not archive.related_to(main):
        raise UsageError(f"The repository at {place} belongs to another repository family, not to "
                         f"{main.location}: nothing was written there.",
                         hint="Use a blank drive (or an empty folder on it) for a new archive drive.")
    archive.use_family_keys(main)
    return archive


def _keep_history(drives: tuple[ArchiveDrive, ...], new: ArchiveDrive) -> ArchiveDrive:
    """A drive added again keeps what the book knew of it (its last copy, its growth)."""
    from dataclasses import replace

    for old in drives:
        if old.repo_id == new.repo_id:
            return replace(old, label=new.label, kind=new.kind, hint=new.hint)
    return new
