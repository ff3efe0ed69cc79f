"""Where odbackup keeps its own files on this machine (platformdirs, overridable)."""
from __future__ import annotations

import os

import platformdirs

APP = "odbackup"


def config_dir() -> str:
    """Machine credentials and settings (``ODBACKUP_CONFIG_DIR`` overrides)."""
    return os.environ.get("ODBACKUP_CONFIG_DIR") or platformdirs.user_config_dir(APP, False)


def cache_dir() -> str:
    """Files cache (``ODBACKUP_CACHE_DIR`` overrides)."""
    return os.environ.get("ODBACKUP_CACHE_DIR") or platformdirs.user_cache_dir(APP, False)


def write_private_file(path: str, data: bytes) -> None:
    """Write a file only its owner can read, atomically.

    On POSIX the file is created 0600. On Windows, files under the user's
    profile (where platformdirs puts the config folder) are private to that
    user by the folder's inherited ACL.
    """
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    if os.name != "nt":
        os.chmod(tmp, 0o600)
    os.replace(tmp, path)
