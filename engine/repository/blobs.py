"""How one blob is compressed and sealed (and opened again).

Plaintext inside the seal is one flag byte then the payload: ``0x00`` raw,
``0x01`` a zstd frame. Compression is skipped when a 32 KiB sample does not
shrink (x-rays and JPEGs are already compressed: zstd would only burn CPU),
the same idea as borg's "auto" compression, with zstd as its own predictor.
"""
from __future__ import annotations

import threading

import zstandard

from .. import crypto

RAW, ZSTD = 0, 1
_SAMPLE = 32 * 1024
LEVEL = 3
"""zstd level for files. Database table streams use :data:`TABLE_LEVEL`."""
TABLE_LEVEL = 1
"""zstd level for database table streams: measured on the benchmark's 346 MB
procedurelog stream, level 1 took 0.8-0.9 s of CPU against 1.2-1.3 s for level 3
and came out no larger (71.4 MB against 72.2 MB; the sample practice: equal to
0.1%). Tabular text repeats within a short window, which level 1 already finds."""
_local = threading.local()


def _compressor(level: int) -> zstandard.ZstdCompressor:
    key = f"c{level}"
    comp = getattr(_local, key, None)
    if comp is None:
        comp = zstandard.ZstdCompressor(level=level)
        setattr(_local, key, comp)
    return comp


def _decompressor() -> zstandard.ZstdDecompressor:
    dec = getattr(_local, "d", None)
    if dec is None:
        dec = _local.d = zstandard.ZstdDecompressor()
    return dec


def compress(data: bytes | memoryview, level: int = LEVEL) -> bytes:
    """Flag byte + payload, whichever of raw or zstd (at ``level``) is worth it."""
    if len(data) > 2 * _SAMPLE:
        sample = data[len(data) // 2 : len(data) // 2 + _SAMPLE]
        if len(_compressor(1).compress(sample)) > 0.97 * len(sample):
            return bytes((RAW,)) + data
    packed = _compressor(level).compress(data)
    if len(packed) < len(data):
        return bytes((ZSTD,)) + packed
    return bytes((RAW,)) + data


def decompress(inner: bytes, raw_length: int) -> bytes:
    if not inner:
        raise crypto.DecryptionFailed("empty blob")
    flag, payload = inner[0], memoryview(inner)[1:]
    if flag == RAW:
        return bytes(payload)
    if flag == ZSTD:
        try:
            data = _decompressor().decompress(payload, max_output_size=raw_length)
        except zstandard.ZstdError as exc:
            raise crypto.DecryptionFailed(f"decompression failed ({exc})") from exc
        if len(data) != raw_length:
            raise crypto.DecryptionFailed("decompressed length differs from the recorded one")
        return data
    raise crypto.DecryptionFailed(f"unknown compression flag {flag}")


def seal_blob(
    blob_type: str, blob_id: bytes, data: bytes | memoryview, *, session: crypto.SealSession | None, maint_key: bytes,
    level: int = LEVEL,
) -> bytes:
    """Compress and seal one blob: content to the session, ``refs`` with maint_key."""
    inner = compress(data, level)
    aad = crypto.blob_aad(blob_type, blob_id)
    if session is None:
        return crypto.seal(maint_key, inner, aad)
    return session.seal(inner, aad)


def open_blob(
    blob_type: str,
    blob_id: bytes,
    sealed: bytes,
    raw_length: int,
    *,
    session_pub: bytes | None,
    opener: crypto.SessionOpener | None,
    maint_key: bytes,
) -> bytes:
    """Open and decompress one blob; raises :class:`crypto.DecryptionFailed`."""
    aad = crypto.blob_aad(blob_type, blob_id)
    if session_pub is None:
        inner = crypto.unseal(maint_key, sealed, aad)
    else:
        if opener is None:
            raise crypto.DecryptionFailed("content needs the repository's private key")
        inner = opener.open(session_pub, sealed, aad)
    return decompress(inner, raw_length)
