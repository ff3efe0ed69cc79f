"""Content-defined chunking and blob compression."""
import os

from engine.chunker import MAX_SIZE, MIN_SIZE, make_chunker
from engine.repository import blobs


def _cut(seed: int, data: bytes) -> list[bytes]:
    return [bytes(c.data) for c in make_chunker(seed).cut_buf(data)]


def test_chunks_cover_input_within_bounds():
    data = os.urandom(12 * 1024 * 1024)
    chunks = _cut(7, data)
    assert b"".join(chunks) == data
    assert all(MIN_SIZE <= len(c) <= MAX_SIZE for c in chunks[:-1])
    assert 6 <= len(chunks) <= 40


def test_insertion_changes_only_nearby_chunks():
    data = os.urandom(16 * 1024 * 1024)
    before = set(_cut(7, data))
    after = _cut(7, data[:8_000_000] + b"inserted!" + data[8_000_000:])
    changed = [c for c in after if c not in before]
    assert len(changed) <= 2
    assert sum(len(c) for c in after if c in before) > 12 * 1024 * 1024


def test_seed_changes_boundaries():
    data = os.urandom(8 * 1024 * 1024)
    assert [len(c) for c in _cut(1, data)] != [len(c) for c in _cut(2, data)]


def test_compression_used_only_when_it_helps():
    text = b"Patient chart note. " * 50_000
    packed = blobs.compress(text)
    assert packed[0] == blobs.ZSTD and len(packed) < len(text) // 10
    assert blobs.decompress(packed, len(text)) == text
    noise = os.urandom(500_000)
    raw = blobs.compress(noise)
    assert raw[0] == blobs.RAW and blobs.decompress(raw, len(noise)) == noise


def test_block_reader_equals_whole_buffer_cut():
    import io

    from engine.chunker import chunk_stream

    data = os.urandom(9 * 1024 * 1024 + 12345)
    whole = _cut(5, data)
    for block in (300_000, 1024 * 1024, 5 * 1024 * 1024, 64 * 1024 * 1024):
        assert [bytes(c) for c in chunk_stream(make_chunker(5), io.BytesIO(data), block)] == whole
    assert list(chunk_stream(make_chunker(5), io.BytesIO(b""))) == []
