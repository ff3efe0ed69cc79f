"""Where a repository lives, from the text that names it (``--repo``, ``copy --to``, ``init``,
the setting ``repository``): a folder, or ``s3:https://HOST[:PORT]/BUCKET/PREFIX``.

Everything above :class:`~.storage.Backend` is the same for both; only opening differs:
a folder gets its subfolders made, a bucket needs none (an object store has no folders).
"""
from __future__ import annotations

import os

from ..errors import RepositoryExists, RepositoryNotFound
from .s3 import S3Backend, is_s3_location
from .storage import Backend, LocalBackend

__all__ = ["is_s3_location", "open_backend", "prepare_new", "describe"]


def open_backend(location: str) -> Backend:
    """The backend for an existing repository's location (not yet read)."""
    if is_s3_location(location):
        return S3Backend(location)
    if os.path.lexists(location) and not os.path.isdir(location):
        raise RepositoryNotFound(
            f"'{location}' is a file, not a repository.",
            hint="Give the repository's folder (the one holding 'config', 'keys' and 'data').",
        )
    return LocalBackend(location)


def prepare_new(location: str, folders: tuple[str, ...]) -> Backend:
    """The backend for a new repository, refusing a place that holds anything already."""
    if is_s3_location(location):
        backend = S3Backend(location)
        if next(iter(backend.list("")), None) is not None:
            raise RepositoryExists(f"'{backend.location}' is not empty.",
                                   hint="Choose another folder (prefix) in the bucket for a new repository.")
        return backend
    if os.path.exists(location) and (not os.path.isdir(location) or os.listdir(location)):
        raise RepositoryExists(f"'{location}' is not empty.")
    local = LocalBackend(location)
    for folder in folders:
        os.makedirs(os.path.join(local.root, folder), exist_ok=True)
    return local


def describe(location: str) -> str:
    """How to name the place in a sentence ("the bucket ..." / "the folder ...")."""
    return f"the online storage {location.strip()}" if is_s3_location(location) else f"the folder {location}"
