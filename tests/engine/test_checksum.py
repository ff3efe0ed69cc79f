"""A table's checksum, whole or in parts, is the same however the stream is cut into blocks."""
from __future__ import annotations

import random

import blake3
import pytest

from engine.database.checksum import StreamChecksum, of_parts


def _lines(count: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    return [b"%d\t%s" % (i, b"x" * rng.randrange(0, 40)) for i in range(count)]


def _fed(lines: list[bytes], parts: list[int] | None, block_rows: list[int]) -> str:
    """The checksum of ``lines`` fed in blocks of the given row counts (cycled)."""
    checksum, i, k = StreamChecksum(parts), 0, 0
    while i < len(lines):
        n = min(block_rows[k % len(block_rows)], len(lines) - i)
        checksum.update(b"".join(line + b"\n" for line in lines[i : i + n]), n)
        i, k = i + n, k + 1
    return checksum.hexdigest()


def _expected(lines: list[bytes], parts: list[int]) -> str:
    digests, start = [], 0
    for count in parts[:-1]:
        digests.append(blake3.blake3(b"".join(line + b"\n" for line in lines[start : start + count])).digest())
        start += count
    digests.append(blake3.blake3(b"".join(line + b"\n" for line in lines[start:])).digest())
    return of_parts(digests)


@pytest.mark.parametrize("block_rows", [[1], [7], [1000], [3, 11, 1, 250], [999, 1]])
@pytest.mark.parametrize("parts", [[1000], [500, 500], [1, 999], [999, 1], [100, 0, 900], [333, 333, 334]])
def test_parts_are_cut_at_their_row_counts_whatever_the_blocks(parts, block_rows):
    lines = _lines(1000)
    assert _fed(lines, parts, block_rows) == _expected(lines, parts)


def test_one_part_is_blake3_of_the_whole_stream():
    lines = _lines(300)
    whole = blake3.blake3(b"".join(line + b"\n" for line in lines)).hexdigest()
    assert _fed(lines, None, [13]) == _fed(lines, [300], [50]) == whole


def test_a_stream_with_other_row_counts_gets_another_checksum():
    """Rows missing from the first part, or one more row: the parts no longer line up."""
    lines = _lines(1000)
    recorded = _expected(lines, [500, 500])
    assert _fed(lines[1:], [500, 500], [64]) != recorded
    assert _fed(lines + [b"extra"], [500, 500], [64]) != recorded
    assert _fed(lines, [499, 501], [64]) != recorded
