"""The sealing pipeline shared by folder and database backups.

The producer (the calling thread) chunks and hashes; new chunks are
compressed, sealed and appended to the pack by worker threads (zstd, AES-GCM,
BLAKE3 and the file writes release the GIL), at most ``MAX_IN_FLIGHT`` bytes at
a time so memory stays flat. The producer only reads, cuts and hashes: measured
on a folder backup it was the busiest thread (about 70% of all CPU time) while
it also wrote and hashed the packs and waited for their fsync.
Several threads may store streams at once (the database backup reads tables
on several connections): each chunks with its own chunker, and one lock keeps
the claims, the chunks in flight and the pack in order.
"""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from .chunker import BLOCK_SIZE, chunk_blocks, make_chunker
from .errors import Cancelled
from .repository.blobs import LEVEL
from .repository.repo import BlobWriter

MAX_IN_FLIGHT = 64 * 1024 * 1024


class BlockStore(Protocol):
    """What a folder backup needs of a pipeline: a :class:`SealPipeline`, or one made
    on first use (``engine.backup``)."""

    def store_blocks(self, blocks: Iterable[bytes], *,
                     on_chunk: Callable[[int], None] | None = None) -> list[tuple[bytes, int]]: ...


class SealPipeline:
    """Chunk -> ID -> (if new) seal in a worker -> pack."""

    def __init__(self, writer: BlobWriter, cancel: threading.Event, *, workers: int = 2) -> None:
        self.writer, self.cancel = writer, cancel
        self._chunkers = threading.local()  # FastCDC objects are not shared across threads
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="odbackup-seal")
        self._in_flight: deque[tuple[bytes, Future[None], int]] = deque()
        self._in_flight_bytes = 0
        self.bytes_added = 0

    def store_blocks(self, blocks: Iterable[bytes], *, on_chunk: Callable[[int], None] | None = None,
                     level: int = LEVEL, gather: int = BLOCK_SIZE) -> list[tuple[bytes, int]]:
        """Chunk a stream of byte blocks and store its new chunks (zstd ``level``); returns
        (ID, length) per chunk."""
        content: list[tuple[bytes, int]] = []
        ids = self.writer.repo.ids
        for data in chunk_blocks(self._chunker(), blocks, gather):
            if self.cancel.is_set():
                raise Cancelled("Cancelled; nothing was saved as a snapshot.")
            cid = ids.blob_id("data", data)
            content.append((cid, len(data)))
            with self._lock:
                if self.writer.claim(cid):
                    self._submit(cid, data, level)
            if on_chunk is not None:
                on_chunk(len(data))
        return content

    def _chunker(self):
        chunker = getattr(self._chunkers, "chunker", None)
        if chunker is None:
            chunker = self._chunkers.chunker = make_chunker(self.writer.repo.keys.chunker_seed)
        return chunker

    def _submit(self, cid: bytes, data: memoryview, level: int) -> None:
        future = self._pool.submit(self._seal_and_pack, cid, data, level)
        self._in_flight.append((cid, future, len(data)))
        self._in_flight_bytes += len(data)
        self.bytes_added += len(data)
        self._drain(block=self._in_flight_bytes > MAX_IN_FLIGHT)

    def _drain(self, *, block: bool) -> None:
        while self._in_flight and (
            self._in_flight[0][1].done() or (block and self._in_flight_bytes > MAX_IN_FLIGHT)
        ):
            self._complete_oldest()

    def _seal_and_pack(self, cid: bytes, data: memoryview, level: int) -> None:
        """In a worker: compress and seal the chunk, then append it to the pack."""
        self.writer.add_sealed("data", cid, self.writer.seal_data(cid, data, level), len(data))

    def _complete_oldest(self) -> None:
        _cid, future, size = self._in_flight.popleft()
        future.result()  # (a worker's error is raised here, in the producer)
        self._in_flight_bytes -= size

    def drain_all(self) -> None:
        """Wait for every chunk in flight and put it in a pack."""
        with self._lock:
            while self._in_flight:
                self._complete_oldest()

    def close(self) -> None:
        """Stop the workers: chunks not started are dropped, those being sealed finish."""
        self._pool.shutdown(wait=True, cancel_futures=True)
