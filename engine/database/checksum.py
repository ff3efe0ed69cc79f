"""A table's checksum: what verify-restore recomputes to prove a table came back exactly.

It is BLAKE3 over the table's stream (docs/FORMAT.md, "Database sources").
A big table the backup read in parts at once (``stream.split``: one part per
connection, each hashed by its own reader) records the row count of each part
(``parts``), and its checksum is BLAKE3 over the parts' 32-byte BLAKE3 digests,
concatenated in stream order. Verify reads the restored table as one stream
and cuts it at the same row counts (:class:`StreamChecksum`), so both sides
compute the same value however the rows were read.
"""
from __future__ import annotations

import blake3


def of_parts(digests: list[bytes]) -> str:
    """The checksum of a stream read as these parts (their BLAKE3 digests, in order)."""
    if len(digests) == 1:
        return digests[0].hex()
    return blake3.blake3(b"".join(digests)).hexdigest()


class StreamChecksum:
    """A stream's checksum, fed block by block (whole lines), for ``parts`` row counts
    (None or one part: BLAKE3 over the whole stream). Rows past the last count belong to
    the last part, so a restored table with more rows than recorded gets another checksum."""

    def __init__(self, parts: list[int] | None = None) -> None:
        self._left = list(parts or [])[:-1]  # rows still to go in each part but the last
        self._digests: list[bytes] = []
        self._hasher = blake3.blake3()

    def update(self, block: bytes, rows: int) -> None:
        """Add ``block``, holding ``rows`` lines."""
        while self._left and rows >= self._left[0]:
            cut = _after_lines(block, self._left[0])
            self._hasher.update(block[:cut])
            self._digests.append(self._hasher.digest())
            self._hasher = blake3.blake3()
            block, rows = block[cut:], rows - self._left.pop(0)
        if self._left:
            self._left[0] -= rows
        self._hasher.update(block)

    def hexdigest(self) -> str:
        return of_parts(self._digests + [self._hasher.digest()])


def _after_lines(block: bytes, lines: int) -> int:
    """The offset just after the first ``lines`` lines of ``block``."""
    end = 0
    for _ in range(lines):
        end = block.index(b"\n", end) + 1
    return end
