"""Whether the places a setup names can be used: the folders to back up and where the backups go.

One set of checks, in plain words, for the app's setup and for ``odbackup config set``
(they were the setup's own before; moved here so both say the same): a folder to back
up exists and can be read and is not inside another one; the destination is there (or
can be made), writable, with room, and not inside a folder being backed up. The pure
checks over the whole settings are :meth:`engine.settings.Settings.problems`.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass

NEARLY_FULL_FRACTION = 0.10  # under 10 % free (or less than the estimate) is "nearly full"


def is_online(location: str) -> bool:
    """Is this an online storage location (``s3:https://HOST/BUCKET/FOLDER``) rather than a folder?"""
    return location.strip().startswith("s3:")


def normal(path: str) -> str:
    """A folder path as the settings keep it: ``~`` expanded, absolute ("" stays ""); an online
    storage location as it was typed (without spaces at either end)."""
    if is_online(path):
        return path.strip()
    return os.path.abspath(os.path.expanduser(path.strip())) if path.strip() else ""


def inside(path: str, folder: str) -> bool:
    """Is ``path`` the folder ``folder`` or somewhere below it (as this system compares names)?"""
    path, folder = (os.path.normcase(os.path.abspath(p)) for p in (path, folder))
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def folder_problem(path: str) -> str | None:
    """Why ``path`` cannot be backed up (None when it can): it must be a folder odbackup may read."""
    if not path.strip():
        return "Type a folder path."
    full = os.path.abspath(os.path.expanduser(path.strip()))
    if not os.path.exists(full):
        return f"'{full}' does not exist (is the drive or share connected?)."
    if not os.path.isdir(full):
        return f"'{full}' is a file, not a folder."
    if not os.access(full, os.R_OK | os.X_OK):
        return f"odbackup may not read '{full}' (permissions)."
    return None


def extra_folder_problem(path: str, images: str, extras: list[str]) -> str | None:
    """Why ``path`` cannot join the other folders (None when it can): a folder inside another
    one chosen would be stored twice."""
    if path in extras or (images and inside(path, images) and inside(images, path)):
        return f"'{path}' is already in the list."
    if images and inside(path, images):
        return f"'{path}' is inside the images folder ({images}): it is backed up with it already."
    if images and inside(images, path):
        return (f"The images folder ({images}) is inside '{path}': it would be stored twice. "
                "Choose another folder, or change the images folder.")
    for other in extras:
        if inside(path, other):
            return f"'{path}' is inside '{other}', already in the list: it is backed up with it already."
        if inside(other, path):
            return f"'{other}', already in the list, is inside '{path}': remove it from the list first."
    return None


def images_folder_problem(images: str, extras: list[str]) -> str | None:
    """Why the images folder and the other folders cannot go together (None when they can)."""
    for other in extras:
        if inside(images, other):
            return (f"The images folder ({images}) is inside another folder in the list ({other}): "
                    "it would be stored twice. Remove one of them.")
        if inside(other, images):
            return (f"'{other}' in the list is inside the images folder ({images}): it would be stored "
                    "twice. Remove it from the list.")
    return None


def repository_inside_problem(repository: str, folders: Iterable[str]) -> str | None:
    """The backups cannot go inside a folder being backed up (each backup would store the last)."""
    if not repository.strip() or is_online(repository):
        return None
    full = normal(repository)
    for folder in folders:
        if folder and inside(full, folder):
            return f"The backups cannot go inside a folder being backed up ({folder})."
    return None


# --- the destination ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DestinationCheck:
    """What the repository folder's place looks like right now."""

    path: str
    exists: bool
    is_repository: bool
    writable: bool
    free_bytes: int
    total_bytes: int
    needed_bytes: int
    problem: str | None = None
    """Why it cannot be used (None when it can)."""

    @property
    def nearly_full(self) -> bool:
        """Less free space than the estimate, or under 10 % of the drive left."""
        if self.total_bytes <= 0:
            return False
        return self.free_bytes < self.needed_bytes or self.free_bytes < self.total_bytes * NEARLY_FULL_FRACTION


def _nearest_existing(path: str) -> str | None:
    current = os.path.abspath(path)
    while not os.path.exists(current):
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent
    return current


def _can_write(folder: str) -> bool:
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".odbackup-write-test-"):
            return True
    except OSError:
        return False


def check_destination(path: str, needed_bytes: int = 0) -> DestinationCheck:
    """Is ``path`` usable as the repository folder: there (or creatable), writable, with room
    for about ``needed_bytes`` (the estimated size of the first backup)?"""
    path = path.strip()
    if not path:
        return DestinationCheck("", False, False, False, 0, 0, needed_bytes, "Type the folder to keep backups in.")
    if is_online(path):
        return _check_online(path, needed_bytes)
    full = os.path.abspath(os.path.expanduser(path))
    exists = os.path.exists(full)
    is_repo = os.path.isfile(os.path.join(full, "config")) and os.path.isdir(os.path.join(full, "keys"))
    base = _nearest_existing(full)
    if base is None or not os.path.isdir(base):
        return DestinationCheck(full, exists, is_repo, False, 0, 0, needed_bytes,
                                f"'{path}' cannot be reached: the drive or share is not there.")
    usage = shutil.disk_usage(base)
    writable = _can_write(base)
    problem = None
    if exists and not os.path.isdir(full):
        problem = f"'{full}' is a file, not a folder."
    elif not writable:
        problem = f"odbackup cannot write in '{base}' (read-only drive, or no permission)."
    elif exists and not is_repo and os.listdir(full):
        problem = f"'{full}' already holds other files; choose an empty or new folder (or an odbackup repository)."
    elif not is_repo and needed_bytes and usage.free < needed_bytes:
        problem = (f"Only {usage.free:,} bytes are free there, and the first backup needs about "
                   f"{needed_bytes:,} bytes.")
    return DestinationCheck(full, exists, is_repo, writable, usage.free, usage.total, needed_bytes, problem)


def _check_online(location: str, needed_bytes: int) -> DestinationCheck:
    """An online storage location: tried with the keys at hand (a test file written, read, removed)."""
    from .errors import UsageError
    from .repository.s3probe import probe

    try:
        found = probe(location, write=False)  # a listing: the status asks this often
    except UsageError as exc:
        return DestinationCheck(location, False, False, False, 0, 0, needed_bytes, str(exc))
    problem = None if found.ok and not found.has_other_files else found.message
    return DestinationCheck(location, found.ok, found.is_repository, found.ok, 0, 0, needed_bytes, problem)
