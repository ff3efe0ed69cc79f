"""Where repository files live: a small interface and the local-folder backend.

A local folder covers a mounted USB drive, a mounted network share and a
Windows UNC path (``\\\\SERVER\\Backups\\odbackup``). Another backend (SFTP,
S3: :mod:`.s3`) implements :class:`Backend` and nothing else changes;
:mod:`.locations` picks the backend from the location's text.

Names are relative POSIX-style paths such as ``data/3f/3fa4...``. Every write
is atomic: a temporary file in the same folder, written, flushed, fsynced,
then renamed over the final name (and the folder fsynced where the platform
allows it), so a crash leaves either the old state or the new, never half a
file under a real name.
"""
from __future__ import annotations

import builtins
import os
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import BinaryIO, Protocol

TEMP_PREFIX = ".tmp-"


class StillLocked(OSError):
    """The storage refuses to delete this file yet: its Object Lock retention runs until ``until``
    (online storage, docs/FORMAT.md section 2.2). Prune and forget leave it and say so."""

    def __init__(self, name: str, until: datetime) -> None:
        super().__init__(f"{name} is locked until {until:%Y-%m-%d %H:%M} UTC (Object Lock)")
        self.name, self.until = name, until


class Backend(Protocol):
    """What the repository needs from a place to store files."""

    location: str

    def exists(self, name: str) -> bool: ...
    def read(self, name: str) -> bytes: ...
    def read_range(self, name: str, offset: int, length: int) -> bytes: ...
    def open_read(self, name: str) -> BinaryIO: ...
    def size(self, name: str) -> int: ...
    def modified(self, name: str) -> float: ...
    def write_atomic(self, name: str, parts: Iterable[bytes]) -> None: ...
    def create_exclusive(self, name: str, data: bytes) -> bool: ...
    def list(self, folder: str) -> Iterator[tuple[str, int]]: ...
    def remove(self, name: str) -> None: ...
    def open_temp(self, folder: str) -> TempWriter: ...


class TempWriter(Protocol):
    """A file being written (a pack), published whole under its final name or discarded."""

    def write(self, data: bytes | memoryview) -> None: ...
    def tell(self) -> int: ...
    def publish(self, name: str) -> None: ...
    def discard(self) -> None: ...


class RangeReader:
    """Reads ranges of repository files keeping the last few open: for one thread that reads
    many blobs in a row (a restore worker). ``close()`` when done."""

    def __init__(self, backend: Backend, keep: int = 4) -> None:
        self._backend, self._keep = backend, keep
        self._files: OrderedDict[str, BinaryIO] = OrderedDict()

    def read_range(self, name: str, offset: int, length: int) -> bytes:
        f = self._files.pop(name, None)
        if f is None:
            f = self._backend.open_read(name)
            while len(self._files) >= self._keep:
                self._files.popitem(last=False)[1].close()
        self._files[name] = f
        f.seek(offset)
        return f.read(length)

    def close(self) -> None:
        while self._files:
            self._files.popitem()[1].close()


class TempFile:
    """A file written in place then published atomically under its final name."""

    def __init__(self, root: str, folder: str) -> None:
        self._dir = os.path.join(root, *folder.split("/"))
        os.makedirs(self._dir, exist_ok=True)
        self.path = os.path.join(self._dir, TEMP_PREFIX + os.urandom(8).hex())
        self._file: BinaryIO = open(self.path, "xb")  # noqa: SIM115 - closed in publish/discard
        self._root = root

    def write(self, data: bytes | memoryview) -> None:
        self._file.write(data)

    def tell(self) -> int:
        return self._file.tell()

    def publish(self, name: str) -> None:
        """fsync, rename to ``name`` (relative to the repository root), fsync the folder."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        final = os.path.join(self._root, *name.split("/"))
        os.makedirs(os.path.dirname(final), exist_ok=True)
        os.replace(self.path, final)
        fsync_dir(os.path.dirname(final))

    def discard(self) -> None:
        self._file.close()
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass


def fsync_dir(path: str) -> None:
    """Make a rename durable. Windows has no directory fsync (NTFS journals it)."""
    if os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBackend:
    """A repository in a local or mounted folder."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.location = self.root

    def _path(self, name: str) -> str:
        return os.path.join(self.root, *name.split("/"))

    def exists(self, name: str) -> bool:
        return os.path.exists(self._path(name))

    def read(self, name: str) -> bytes:
        with open(self._path(name), "rb") as f:
            return f.read()

    def read_range(self, name: str, offset: int, length: int) -> bytes:
        with open(self._path(name), "rb") as f:
            f.seek(offset)
            return f.read(length)

    def open_read(self, name: str) -> BinaryIO:
        return open(self._path(name), "rb", buffering=0)  # noqa: SIM115 - the caller closes it

    def size(self, name: str) -> int:
        return os.path.getsize(self._path(name))

    def modified(self, name: str) -> float:
        """When the file was last written (Unix time)."""
        return os.path.getmtime(self._path(name))

    def write_atomic(self, name: str, parts: Iterable[bytes]) -> None:
        folder = name.rsplit("/", 1)[0] if "/" in name else ""
        tmp = self.open_temp(folder)
        try:
            for part in parts:
                tmp.write(part)
            tmp.publish(name)
        except BaseException:
            tmp.discard()
            raise

    def create_exclusive(self, name: str, data: bytes) -> bool:
        """Create ``name`` only if absent (O_EXCL: atomic on local disks and SMB)."""
        path = self._path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0))
        except FileExistsError:
            return False
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        return True

    def list(self, folder: str) -> Iterator[tuple[str, int]]:
        """Every file below ``folder`` as (name, size); temporary files are skipped."""
        base = self._path(folder)
        for dirpath, _dirs, files in os.walk(base):
            rel = os.path.relpath(dirpath, self.root).replace(os.sep, "/")
            for fname in files:
                if fname.startswith(TEMP_PREFIX):
                    continue
                full = os.path.join(dirpath, fname)
                try:
                    yield f"{rel}/{fname}", os.path.getsize(full)
                except FileNotFoundError:
                    continue

    def temp_files(self) -> builtins.list[str]:  # (``list`` here is the method above)
        """Leftover temporary files (from an interrupted run)."""
        found = []
        for dirpath, _dirs, files in os.walk(self.root):
            found += [os.path.join(dirpath, f) for f in files if f.startswith(TEMP_PREFIX)]
        return found

    def remove(self, name: str) -> None:
        os.remove(self._path(name))

    def open_temp(self, folder: str) -> TempFile:
        return TempFile(self.root, folder)
