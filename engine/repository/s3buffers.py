"""What the S3 backend (s3.py) keeps in memory: a pack being written, sent whole with one
create-only PUT when it is published (:class:`MemoryTemp`), and blocks of packs being read,
shared by a restore's threads and read ahead (:class:`BlockCache`, :class:`ObjectReader`)."""
from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .s3 import S3Backend


class MemoryTemp:
    """A pack being written: kept in memory, sent with one create-only PUT by ``publish``."""

    def __init__(self, backend: S3Backend) -> None:
        self._backend = backend
        self._buffer = bytearray()

    def write(self, data: bytes | memoryview) -> None:
        self._buffer += data

    def tell(self) -> int:
        return len(self._buffer)

    def publish(self, name: str) -> None:
        self._backend.put_new(name, self._buffer)
        self._buffer = bytearray()

    def discard(self) -> None:
        self._buffer = bytearray()


class BlockCache:
    """Aligned blocks of immutable objects (packs) read once and shared by the threads that read
    them: a restore's workers read neighbouring blobs of the same packs, and one GET of BLOCK
    bytes costs about what one GET of a single blob costs. A block asked for brings the next
    AHEAD blocks of the same object in the background (GETs in parallel, as a restore reads a
    pack front to back). Least recently used blocks go first; a block being fetched is waited
    for, never fetched twice."""

    BLOCK = 4 * 1024 * 1024
    KEEP = 16  # blocks (64 MiB)
    AHEAD = 3
    FETCHERS = 4

    def __init__(self, backend: S3Backend) -> None:
        self._backend = backend
        self._lock = threading.Lock()
        self._blocks: OrderedDict[tuple[str, int], Future[memoryview]] = OrderedDict()
        self._pool: ThreadPoolExecutor | None = None

    def read(self, name: str, offset: int, length: int, size: Callable[[], int]) -> bytes:
        if length <= 0:
            return b""
        total = size()
        end = min(offset + length, total)
        parts = []
        for index in range(offset // self.BLOCK, (max(end, offset + 1) - 1) // self.BLOCK + 1):
            block = self._block(name, index, total)
            start = index * self.BLOCK
            parts.append(block[max(offset - start, 0): max(end - start, 0)])
        if len(parts) == 1:
            return bytes(parts[0])
        return b"".join(parts)

    def _block(self, name: str, index: int, total: int) -> memoryview:
        last = (total - 1) // self.BLOCK
        with self._lock:
            wanted = self._fetch(name, index, total)
            for ahead in range(index + 1, min(index + self.AHEAD, last) + 1):
                self._fetch(name, ahead, total)
        try:
            return wanted.result()
        except BaseException:
            with self._lock:
                self._blocks.pop((name, index), None)
            raise

    def _fetch(self, name: str, index: int, total: int) -> Future[memoryview]:
        """The block's future (under the lock): known, or fetched now in the background."""
        key = (name, index)
        future = self._blocks.get(key)
        if future is not None:
            self._blocks.move_to_end(key)
            return future
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.FETCHERS, thread_name_prefix="odbackup-s3-read")
        start = index * self.BLOCK
        future = self._blocks[key] = self._pool.submit(self._backend._range, name, start,
                                                       min(self.BLOCK, total - start))
        while len(self._blocks) > self.KEEP:
            self._blocks.popitem(last=False)
        return future


class ObjectReader(io.RawIOBase):
    """A read-only, seekable view of one object: each ``read`` is one ranged GET."""

    def __init__(self, backend: S3Backend, name: str) -> None:
        super().__init__()
        self._backend, self._name, self._pos = backend, name, 0
        self._size: int | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def _length(self) -> int:
        if self._size is None:
            self._size = self._backend.size(self._name)
        return self._size

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos}.get(whence)
        self._pos = (self._length() if base is None else base) + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self._length() - self._pos
        data = self._backend.blocks.read(self._name, self._pos, size, self._length)
        self._pos += len(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        memoryview(buffer)[: len(data)] = data
        return len(data)
