"""The Backup Copy Network Path: checked (reachable, writable, space) and its repository made.

:func:`path_words` says what :func:`engine.places.check_destination` found, in the
Supplemental screen's words. :func:`prepare` is what the passphrase holder does
once, from the setup or the Supplemental screen (``odbackup init PATH --related-to
MAIN`` on the command line): the repository at the path, related to the main one,
so the main passphrase opens it and this machine's write-only credentials write it.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import NeedsPassphrase, OdbackupError
from ..places import DestinationCheck, check_destination, inside
from ..words import size

LABEL = "Supplemental copy"


class SupplementalPathProblem(OdbackupError):
    """The Backup Copy Network Path cannot hold the supplemental repository."""

    title = "Backup Copy Network Path"


@dataclass(frozen=True)
class Prepared:
    """The supplemental repository at the path, ready."""

    path: str
    made: bool
    """Made now (False: it was there already, related to the main repository)."""
    recovery_key: str = ""
    """The new repository's own recovery key, to show once: only when the main repository was made by an
    older odbackup (empty when the main recovery key opens it, FORMAT.md 10.4, or it was there already)."""


def path_words(check: DestinationCheck) -> str:
    """``Reachable, writable, 1.2 TiB free of 2.0 TiB; an odbackup repository.`` or what is wrong."""
    if not check.path:
        return "No Backup Copy Network Path is set."
    if not check.exists and check.problem and "cannot be reached" in check.problem:
        return check.problem
    if not check.writable:
        return check.problem or f"odbackup cannot write at {check.path}."
    said = f"Reachable, writable, {size(check.free_bytes)} free of {size(check.total_bytes)}"
    if check.is_repository:
        return said + "; an odbackup repository is there."
    if check.problem:
        return f"{said}, but: {check.problem}"
    return said + "; no repository there yet (it is made with the passphrase: Make repository)."


def prepare(path: str, main_location: str, secret: str, label: str = LABEL, *,
            object_lock_days: int = 0) -> Prepared:
    """Make the supplemental repository at ``path`` related to the main one (unlocked with
    ``secret``, its passphrase or recovery key), or accept the one there if it is related.
    ``object_lock_days``: a new repository in online storage locks its objects that long (0: no
    Object Lock). Raises SupplementalPathProblem (or the repository's own errors) in plain words."""
    from ..repository.repo import Repository

    path = path.strip()
    if not path:
        raise SupplementalPathProblem("Type the Backup Copy Network Path first.")
    if inside(path, main_location) or inside(main_location, path):
        raise SupplementalPathProblem("The Backup Copy Network Path must be apart from the main repository.")
    check = check_destination(path)
    main = Repository.open(main_location)
    main.unlock(secret)
    if check.is_repository:
        there = Repository.open(path)
        if not there.related_to(main):
            raise SupplementalPathProblem(f"{path} holds another odbackup repository, not one related to "
                                          f"{main_location}.", hint="Choose an empty or new folder.")
        return Prepared(path, made=False)
    if check.problem:
        raise SupplementalPathProblem(check.problem)
    from ..recovery import looks_like_recovery_key

    if looks_like_recovery_key(secret):
        raise NeedsPassphrase("Making the supplemental repository takes the passphrase, not the recovery key.")
    _repo, recovery = Repository.init_related(path, main, secret, label=label, object_lock_days=object_lock_days)
    return Prepared(path, made=True, recovery_key=recovery or "")
