"""Content-defined chunking (FastCDC 2020, via the Cython ``pyfastcdc``).

Cut points depend on content, so an insertion shifts only nearby chunk
boundaries and the rest deduplicates. The gear table is keyed with a secret
63-bit seed from the repository keys, so chunk sizes do not follow a public
pattern. Average about 768 KiB (pyfastcdc's average is ``avg_size + min_size``),
at least 256 KiB (except a file's last chunk), at most 4 MiB.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO

from pyfastcdc import FastCDC

MIN_SIZE = 256 * 1024
AVG_SIZE = 512 * 1024
MAX_SIZE = 4 * 1024 * 1024


def make_chunker(seed: int) -> FastCDC:
    """A chunker for one thread (FastCDC objects are not shared across threads)."""
    return FastCDC(avg_size=AVG_SIZE, min_size=MIN_SIZE, max_size=MAX_SIZE, seed=seed)


BLOCK_SIZE = 16 * 1024 * 1024


def chunk_stream(chunker: FastCDC, f: BinaryIO, block_size: int = BLOCK_SIZE) -> Iterator[memoryview]:
    """Chunks of an open file, read ``block_size`` at a time."""
    return chunk_blocks(chunker, iter(lambda: f.read(block_size), b""), block_size)


def chunk_blocks(chunker: FastCDC, blocks: Iterable[bytes], block_size: int = BLOCK_SIZE) -> Iterator[memoryview]:
    """Chunks of a stream given as byte blocks of any size (memory stays bounded).

    Blocks are gathered to at least ``block_size`` and cut with ``cut_buf``
    (pyfastcdc's own ``cut_stream`` allocates and zeroes about 8 MiB per call,
    which dominates on folders of small files). A cut point depends only on the
    bytes since the chunk's start, so the last (possibly truncated) chunk of a
    buffer is carried into the next one and cut again there: the result equals
    cutting the whole stream at once. Chunks are read-only views into
    immutable buffers (no copy).
    """
    carry: bytes | memoryview = b""  # a view: copied once, with the next blocks
    pending: list[bytes] = []
    size = 0
    for block in blocks:
        pending.append(block)
        size += len(block)
        if size >= block_size:
            data = b"".join([carry, *pending]) if carry or len(pending) > 1 else pending[0]
            pending, size = [], 0
            view = memoryview(data)
            chunks = list(chunker.cut_buf(data))
            for c in chunks[:-1]:
                yield view[c.offset : c.offset + c.length]
            carry = view[chunks[-1].offset :]
    # (a file smaller than a block arrives whole: cut as it is, not copied by a join)
    data = b"".join([carry, *pending]) if carry or len(pending) > 1 else (pending[0] if pending else b"")
    if data:
        view = memoryview(data)
        yield from (view[c.offset : c.offset + c.length] for c in chunker.cut_buf(data))
