"""Trying an S3 location before using it (``odbackup storage-keys``, the setup's Test button):
are the keys accepted, can a probe object be written, read back and removed, is there already a
repository or other files, and how fast does an upload go (turned into "the first full copy
takes about N nights" for the size to send). Every answer is in plain words."""
from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass

from .. import storagekeys
from ..errors import OdbackupError
from .s3 import S3Backend

PROBE_SIZE = 4 * 1024 * 1024
NIGHT_HOURS = 10.0  # an office is closed about 10 hours a night


@dataclass(frozen=True)
class ProbeResult:
    """What trying a location found."""

    location: str
    ok: bool
    message: str
    """One sentence for a person: what works, or what is wrong and what to do."""
    is_repository: bool = False
    has_other_files: bool = False
    upload_bytes_per_second: float = 0.0
    object_lock: bool | None = None
    """Whether the bucket has Object Lock on (None: not asked, or it could not be told)."""

    def nights_for(self, size: int) -> float:
        """Nights of NIGHT_HOURS needed to send ``size`` bytes at the measured speed."""
        if self.upload_bytes_per_second <= 0:
            return 0.0
        return size / self.upload_bytes_per_second / 3600 / NIGHT_HOURS


def probe(location: str, keys: storagekeys.StorageKeys | None = None, *, size: int = PROBE_SIZE,
          write: bool = True) -> ProbeResult:
    """Try ``location`` with ``keys`` (default: the environment's or the saved ones). Without
    ``write``, only a listing (keys, bucket, what is there): cheap enough for every status."""
    try:
        backend = S3Backend(location, keys=keys)
        names = [name for name, _size in backend.list("")][:50]
        is_repo = "config" in names
        if not write:
            return _answer(location, names, is_repo, 0.0, "The keys work (the folder was listed).")
        name = f"locks/probe-{os.urandom(6).hex()}"
        data = os.urandom(size)
        started = time.monotonic()
        backend.write_atomic(name, [data])
        speed = size / max(time.monotonic() - started, 1e-6)
        same = backend.read(name) == data
        backend.remove(name)
    except OdbackupError as exc:
        return ProbeResult(location, False, f"{exc} {exc.hint or ''}".strip())
    if not same:
        return ProbeResult(location, False, "The storage gave back other bytes than were written: do not use it.")
    found = _answer(location, names, is_repo, speed, "The keys work: a test file was written, read back and "
                    f"removed (upload {speed * 8 / 1e6:.1f} Mbit/s).")
    return dataclasses.replace(found, object_lock=_object_lock(backend))


def _object_lock(backend: S3Backend) -> bool | None:
    """Whether the bucket has Object Lock on; None when the keys may not ask (a provider's rights)."""
    try:
        return backend.bucket_has_object_lock()
    except OdbackupError:
        return None


def _answer(location: str, names: list[str], is_repo: bool, speed: float, works: str) -> ProbeResult:
    where = ("It holds an odbackup repository." if is_repo else
             "It holds other files: choose another folder in the bucket." if names else
             "It is empty: a new repository can be made there.")
    return ProbeResult(location, True, f"{works} {where}", is_repo, bool(names) and not is_repo, speed)
