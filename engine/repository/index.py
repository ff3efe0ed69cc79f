"""The index: which pack holds each blob, at which offset.

Index files (``index/<id>``) are sealed with the maintenance key and list whole
packs (their sessions and blob entries, as in the pack header). They are
written while a backup runs, after the packs they name are durable, so a
backup killed half-way leaves indexed packs that the next run reuses.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import zstandard

from .. import crypto
from .pack import PackContents
from .storage import Backend

INDEX_KIND = "index"


@dataclass(frozen=True, slots=True)
class BlobLocation:
    """Everything needed to read one blob."""

    pack_id: str
    blob_type: str
    offset: int
    length: int
    raw_length: int
    session: bytes | None


class Index:
    """All blobs of the repository, in memory."""

    def __init__(self) -> None:
        self._blobs: dict[bytes, BlobLocation] = {}
        self.packs: dict[str, PackContents] = {}
        self.files: list[str] = []
        self._unsaved: list[PackContents] = []

    def __contains__(self, blob_id: bytes) -> bool:
        return blob_id in self._blobs

    def __len__(self) -> int:
        return len(self._blobs)

    def get(self, blob_id: bytes) -> BlobLocation | None:
        return self._blobs.get(blob_id)

    def add_pack(self, pack: PackContents, *, unsaved: bool = False) -> None:
        self.packs[pack.pack_id] = pack
        for b in pack.blobs:
            session = pack.sessions[b.session] if b.session is not None else None
            self._blobs.setdefault(
                b.blob_id, BlobLocation(pack.pack_id, b.blob_type, b.offset, b.length, b.raw_length, session)
            )
        if unsaved:
            self._unsaved.append(pack)

    @property
    def has_unsaved(self) -> bool:
        return bool(self._unsaved)

    def save(self, backend: Backend, maint_key: bytes) -> str | None:
        """Write an index file for the packs added since the last save."""
        if not self._unsaved:
            return None
        doc = {"version": 1, "packs": [p.to_json() for p in self._unsaved], "supersedes": []}
        plain = zstandard.ZstdCompressor(level=3).compress(json.dumps(doc).encode())
        sealed = crypto.seal(maint_key, plain, INDEX_KIND)
        name = "index/" + crypto.content_hash(sealed).hex()
        backend.write_atomic(name, [sealed])
        self.files.append(name)
        self._unsaved = []
        return name

    @classmethod
    def load(cls, backend: Backend, maint_key: bytes) -> Index:
        """Read every index file. Raises DecryptionFailed on a damaged one."""
        index = cls()
        for name, _size in sorted(backend.list("index")):
            doc = read_index_file(backend, name, maint_key)
            for pack in doc["packs"]:
                index.add_pack(PackContents.from_json(pack))
            index.files.append(name)
        return index


def read_index_file(backend: Backend, name: str, maint_key: bytes) -> dict:
    plain = crypto.unseal(maint_key, backend.read(name), INDEX_KIND)
    return json.loads(zstandard.ZstdDecompressor().decompress(plain, max_output_size=1 << 31))
