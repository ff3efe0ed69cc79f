"""Pack files: many sealed blobs, then a sealed header listing them.

Layout (docs/FORMAT.md, "Pack files")::

    blob 1 | blob 2 | ... | blob n | header | header length (u32 LE) | b"ODBPACK1"

A pack is named by the BLAKE3 hash of all its bytes, so ``check`` can tell a
damaged pack without any key. Packs are written to a temporary file as blobs
arrive (memory stays flat) and published under their name only when whole.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass

import blake3
import zstandard

from .. import crypto
from .storage import Backend, TempWriter

MAGIC = b"ODBPACK1"
TRAILER = struct.Struct("<I8s")
DEFAULT_PACK_SIZE = 32 * 1024 * 1024
HEADER_KIND = "pack header"


@dataclass(frozen=True, slots=True)
class BlobEntry:
    """Where one blob sits in its pack. ``session`` indexes the pack's session list
    (None: sealed with the maintenance key)."""

    blob_id: bytes
    blob_type: str
    offset: int
    length: int
    raw_length: int
    session: int | None

    def to_json(self) -> dict:
        return {
            "id": self.blob_id.hex(),
            "type": self.blob_type,
            "offset": self.offset,
            "length": self.length,
            "raw_length": self.raw_length,
            "session": self.session,
        }

    @classmethod
    def from_json(cls, doc: dict) -> BlobEntry:
        return cls(
            bytes.fromhex(doc["id"]),
            doc["type"],
            int(doc["offset"]),
            int(doc["length"]),
            int(doc["raw_length"]),
            doc["session"],
        )


@dataclass(frozen=True)
class PackContents:
    """What a finished (or parsed) pack holds."""

    pack_id: str
    size: int
    sessions: tuple[bytes, ...]
    blobs: tuple[BlobEntry, ...]

    def to_json(self) -> dict:
        return {
            "id": self.pack_id,
            "size": self.size,
            "sessions": [crypto.b64(s) for s in self.sessions],
            "blobs": [b.to_json() for b in self.blobs],
        }

    @classmethod
    def from_json(cls, doc: dict) -> PackContents:
        return cls(
            doc["id"],
            int(doc["size"]),
            tuple(crypto.unb64(s) for s in doc["sessions"]),
            tuple(BlobEntry.from_json(b) for b in doc["blobs"]),
        )


def pack_name(pack_id: str) -> str:
    return f"data/{pack_id[:2]}/{pack_id}"


def encode_header(sessions: list[bytes], blobs: list[BlobEntry], maint_key: bytes) -> bytes:
    doc = {"sessions": [crypto.b64(s) for s in sessions], "blobs": [b.to_json() for b in blobs]}
    plain = zstandard.ZstdCompressor(level=3).compress(json.dumps(doc).encode())
    return crypto.seal(maint_key, plain, HEADER_KIND)


def decode_header(sealed: bytes, maint_key: bytes) -> tuple[list[bytes], list[BlobEntry]]:
    plain = crypto.unseal(maint_key, sealed, HEADER_KIND)
    doc = json.loads(zstandard.ZstdDecompressor().decompress(plain, max_output_size=1 << 30))
    return [crypto.unb64(s) for s in doc["sessions"]], [BlobEntry.from_json(b) for b in doc["blobs"]]


def read_header(backend: Backend, name: str, maint_key: bytes) -> tuple[list[bytes], list[BlobEntry]]:
    """Read and open a pack's header from its tail."""
    size = backend.size(name)
    if size < TRAILER.size:
        raise crypto.DecryptionFailed("pack too short")
    length, magic = TRAILER.unpack(backend.read_range(name, size - TRAILER.size, TRAILER.size))
    if magic != MAGIC or length > size - TRAILER.size:
        raise crypto.DecryptionFailed("not a pack trailer")
    return decode_header(backend.read_range(name, size - TRAILER.size - length, length), maint_key)


class PackWriter:
    """Appends sealed blobs to a temporary file; ``finish`` publishes the pack."""

    def __init__(self, backend: Backend, maint_key: bytes, target_size: int) -> None:
        self._backend = backend
        self._maint_key = maint_key
        self.target_size = target_size
        self._tmp: TempWriter | None = None
        self._hash = blake3.blake3()
        self._offset = 0
        self._sessions: list[bytes] = []
        self._blobs: list[BlobEntry] = []

    @property
    def empty(self) -> bool:
        return not self._blobs

    @property
    def full(self) -> bool:
        return self._offset >= self.target_size

    def add(self, blob_type: str, blob_id: bytes, sealed: bytes, raw_length: int, session: bytes | None) -> None:
        if self._tmp is None:
            self._tmp = self._backend.open_temp("data")
        session_index = None
        if session is not None:
            if session not in self._sessions:
                self._sessions.append(session)
            session_index = self._sessions.index(session)
        self._tmp.write(sealed)
        self._hash.update(sealed)
        self._blobs.append(BlobEntry(blob_id, blob_type, self._offset, len(sealed), raw_length, session_index))
        self._offset += len(sealed)

    def finish(self) -> PackContents:
        """Write the header, fsync and publish; returns what the pack holds."""
        assert self._tmp is not None
        header = encode_header(self._sessions, self._blobs, self._maint_key)
        tail = header + TRAILER.pack(len(header), MAGIC)
        self._tmp.write(tail)
        self._hash.update(tail)
        pack_id = self._hash.hexdigest()
        self._tmp.publish(pack_name(pack_id))
        contents = PackContents(pack_id, self._offset + len(tail), tuple(self._sessions), tuple(self._blobs))
        self._reset()
        return contents

    def discard(self) -> None:
        if self._tmp is not None:
            self._tmp.discard()
        self._reset()

    def _reset(self) -> None:
        self._tmp = None
        self._hash = blake3.blake3()
        self._offset = 0
        self._sessions = []
        self._blobs = []
