"""Where a repository lives, from the text that names it (``--repo``, ``copy --to``, ``init``,
the setting ``repository``): a folder, or ``s3:https://HOST[:PORT]/BUCKET/PREFIX``.

Everything above :class:`~.storage.Backend` is the same for both; only opening differs:
a folder gets its subfolders made, a bucket needs none (an object store has no folders).
"""
from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from ..errors import RepositoryExists, RepositoryNotFound, UsageError
from .storage import Backend, LocalBackend

if TYPE_CHECKING:
    from .s3 import S3Backend

__all__ = ["is_s3_location", "open_backend", "prepare_new", "describe"]

# The S3 backend (and obstore under it) is imported only for a location in a bucket: a backup
# to a folder, as most scheduled runs are, starts a few milliseconds sooner without it.


_USERINFO = re.compile(r"^(?:s3:)?[A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*@")
KEYS_IN_LOCATION = ("A location must not contain keys (nothing before an '@' in the server's name): "
                    "it is shown in logs and run records.")
KEYS_HINT = ("Write it as s3:https://HOST[:PORT]/BUCKET/FOLDER, and give the keys with AWS_ACCESS_KEY_ID and "
             "AWS_SECRET_ACCESS_KEY, or save them with 'odbackup storage-keys LOCATION'.")


def refuse_keys_in(location: str) -> None:
    """:class:`UsageError` (which does not repeat it) when ``location`` carries keys or a password
    (``s3:https://KEY:SECRET@host/bucket``, ``https://user@host/...``): such a location would put
    them into every run record, log and status."""
    if _USERINFO.match(location.strip()):
        raise UsageError(KEYS_IN_LOCATION, hint=KEYS_HINT)


def is_s3_location(location: str) -> bool:
    """Is ``location`` an S3 location (``s3:...``, ``engine.repository.s3.SCHEME``) rather than a folder?"""
    return location.strip().startswith("s3:")


def open_backend(location: str) -> Backend:
    """The backend for an existing repository's location (not yet read)."""
    refuse_keys_in(location)
    if is_s3_location(location):
        from .s3 import S3Backend

        return S3Backend(location)
    if os.path.lexists(location) and not os.path.isdir(location):
        raise RepositoryNotFound(
            f"'{location}' is a file, not a repository.",
            hint="Give the repository's folder (the one holding 'config', 'keys' and 'data').",
        )
    return LocalBackend(location)


def prepare_new(location: str, folders: tuple[str, ...], object_lock_days: int = 0) -> Backend:
    """The backend for a new repository, refusing a place that holds anything already (and,
    with ``object_lock_days``, a bucket without Object Lock, or a folder)."""
    refuse_keys_in(location)
    if is_s3_location(location):
        from .s3 import S3Backend

        backend = S3Backend(location)
        if next(iter(backend.list("")), None) is not None:
            raise RepositoryExists(f"'{backend.location}' is not empty.",
                                   hint="Choose another folder (prefix) in the bucket for a new repository.")
        if object_lock_days:
            _check_bucket_lock(backend, object_lock_days)
        return backend
    if object_lock_days:
        raise UsageError("Object Lock is for online storage (an S3 bucket), not for a folder.")
    if os.path.exists(location) and (not os.path.isdir(location) or os.listdir(location)):
        raise RepositoryExists(f"'{location}' is not empty.")
    local = LocalBackend(location)
    for folder in folders:
        os.makedirs(os.path.join(local.root, folder), exist_ok=True)
    return local


def _check_bucket_lock(backend: S3Backend, days: int) -> None:
    from .s3lock import check_days

    backend.use_config({"object_lock_days": check_days(days)})
    assert backend.object_lock is not None
    if not backend.object_lock.bucket_has_lock():
        raise UsageError(f"The bucket '{backend.where.bucket}' does not have Object Lock turned on.",
                         hint="Create a bucket with Object Lock on (in the provider's console), or leave out "
                              "--object-lock-days.")


def describe(location: str) -> str:
    """How to name the place in a sentence ("the bucket ..." / "the folder ...")."""
    return f"the online storage {location.strip()}" if is_s3_location(location) else f"the folder {location}"
