"""Making the offsite repository from a front end holding the main repository's passphrase: what
``odbackup init LOCATION --related-to MAIN`` does, for the app's "Online storage" action.

What is at the location decides, and nothing is written where something else is:

- nothing: a repository related to the main one is created there (the main repository's
  passphrase opens it; its recovery key too, unless the main one was made by an older odbackup:
  then it gets a recovery key of its own, returned to be shown once);
- a repository related to the main one (made before, by hand or by an earlier setup): it is
  used as it is;
- anything else (other files, another practice's repository): refused.

The nightly copy opens it with this machine's write-only credentials of the main repository
(:func:`engine.offsite.run.open_offsite`), so nothing is enrolled here.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import NeedsPassphrase, RepositoryNotFound, UsageError
from ..repository.repo import Repository


@dataclass(frozen=True)
class MadeOffsite:
    """What :func:`make_offsite` did."""

    location: str
    """The offsite repository's location, as the settings keep it."""
    created: bool
    """A new repository was made there (else a related one was found)."""
    recovery_key: str | None
    """The new repository's own recovery key, shown once (None: the main one's opens it)."""


def make_offsite(location: str, main_location: str, passphrase: str, *, object_lock_days: int = 0,
                 label: str = "Offsite copy") -> MadeOffsite:
    """The offsite repository at ``location``, related to the one at ``main_location`` (module
    docstring). ``passphrase``: the main repository's (not its recovery key)."""
    from ..recovery import looks_like_recovery_key
    from ..repository.s3 import S3Location, is_s3_location

    if not is_s3_location(location):
        raise UsageError(f"The offsite copy goes to online storage: '{location}' is not an S3 location.",
                         hint="Write it like s3:https://SERVER/BUCKET/FOLDER.")
    location = S3Location.parse(location).text
    if is_s3_location(main_location) and S3Location.parse(main_location).text == location:
        raise UsageError("The offsite copy must go to another place than the backups themselves.")
    if looks_like_recovery_key(passphrase):
        raise NeedsPassphrase("Making the offsite copy takes the passphrase, not the recovery key.")
    main = Repository.open(main_location)
    main.unlock(passphrase)
    try:
        there = Repository.open(location)
    except RepositoryNotFound:
        made, recovery = Repository.init_related(location, main, passphrase, label=label,
                                                 object_lock_days=object_lock_days)
        return MadeOffsite(made.location, True, recovery)
    if there.repo_id == main.repo_id:
        raise UsageError(f"{location} is the backups' own repository (a copy of it?): it cannot be their "
                         "offsite copy.")
    if not there.related_to(main):
        raise UsageError(f"The repository at {location} belongs to other backups, not to {main.location}: "
                         "nothing was written there.", hint="Choose an empty folder in the bucket.")
    return MadeOffsite(there.location, False, None)
