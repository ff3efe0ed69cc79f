"""Content-defined chunking (FastCDC 2020, via the Cython ``pyfastcdc``).

Cut points depend on content, so an insertion shifts only nearby chunk
boundaries and the rest deduplicates. The gear table is keyed with a secret
63-bit seed from the repository keys, so chunk sizes do not follow a public
pattern. Average about 768 KiB (pyfastcdc's average is ``avg_size + min_size``),
at least 256 KiB (except a file's last chunk), at most 4 MiB.
"""
from __future__ import annotations

from pyfastcdc import FastCDC

MIN_SIZE = 256 * 1024
AVG_SIZE = 512 * 1024
MAX_SIZE = 4 * 1024 * 1024


def make_chunker(seed: int) -> FastCDC:
    """A chunker for one thread (FastCDC objects are not shared across threads)."""
    return FastCDC(avg_size=AVG_SIZE, min_size=MIN_SIZE, max_size=MAX_SIZE, seed=seed)
