"""The index: which pack holds each blob, at which offset.

Index files (``index/<id>``) are sealed with the maintenance key and list whole
packs (their sessions and blob entries, as in the pack header). They are
written while a backup runs, after the packs they name are durable, so a
backup killed half-way leaves indexed packs that the next run reuses.
"""
from __future__ import annotations

import json
import os
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
    """All blobs of the repository, in memory.

    Loading the index is on the path of every run, and a backup mostly asks only
    whether blobs are present, so it is kept cheap: blob locations are plain
    tuples (a :class:`BlobLocation` is made on ``get``); packs stay as their JSON
    until ``packs`` is read; and with a local ``ids_cache`` folder, an index file
    seen before is known by the list of its blob IDs kept there (index files never
    change: their name is the hash of their bytes, checked at load) and is opened
    and parsed only when a location is asked for.
    """

    def __init__(self) -> None:
        # blob ID -> (pack ID, type, offset, length, raw length, session public key or None),
        # or None while the index file listing it is deferred (only its IDs read)
        self._blobs: dict[bytes, tuple | None] = {}
        self._packs: dict[str, PackContents | dict] = {}  # a dict: the pack's JSON, parsed on demand
        self.files: list[str] = []
        self._unsaved: list[PackContents] = []
        self._deferred: list[str] = []
        self._backend: Backend | None = None
        self._maint_key = b""
        self._ids_cache: str | None = None

    def __contains__(self, blob_id: bytes) -> bool:
        return blob_id in self._blobs

    def __len__(self) -> int:
        return len(self._blobs)

    def has_all(self, blob_ids: list[bytes]) -> bool:
        return all(map(self._blobs.__contains__, blob_ids))

    def get(self, blob_id: bytes) -> BlobLocation | None:
        loc = self._blobs.get(blob_id)
        if loc is None and self._deferred and blob_id in self._blobs:
            self._load_deferred()
            loc = self._blobs.get(blob_id)
        return None if loc is None else BlobLocation(*loc)

    @property
    def packs(self) -> dict[str, PackContents]:
        self._load_deferred()
        packs = self._packs
        for pack_id, pack in packs.items():
            if isinstance(pack, dict):
                packs[pack_id] = PackContents.from_json(pack)
        return packs  # type: ignore[return-value]

    def add_pack(self, pack: PackContents, *, unsaved: bool = False) -> None:
        self._packs[pack.pack_id] = pack
        blobs = self._blobs
        for b in pack.blobs:
            if blobs.get(b.blob_id) is None:
                session = pack.sessions[b.session] if b.session is not None else None
                blobs[b.blob_id] = (pack.pack_id, b.blob_type, b.offset, b.length, b.raw_length, session)
        if unsaved:
            self._unsaved.append(pack)

    def _add_pack_json(self, doc: dict) -> None:
        """``add_pack`` for a pack as listed in an index file, without building its objects."""
        pack_id = doc["id"]
        self._packs[pack_id] = doc
        sessions = [crypto.unb64(s) for s in doc["sessions"]]
        blobs, fromhex = self._blobs, bytes.fromhex
        for b in doc["blobs"]:
            blob_id = fromhex(b["id"])
            if blobs.get(blob_id) is None:
                session = b["session"]
                blobs[blob_id] = (pack_id, b["type"], int(b["offset"]), int(b["length"]), int(b["raw_length"]),
                                  None if session is None else sessions[session])

    def save(self, backend: Backend, maint_key: bytes) -> str | None:
        """Write an index file for the packs added since the last save."""
        if not self._unsaved:
            return None
        name = write_index_file(backend, maint_key, self._unsaved)
        self.files.append(name)
        self._remember_ids(name, [b.blob_id for p in self._unsaved for b in p.blobs])
        self._unsaved = []
        return name

    @classmethod
    def load(cls, backend: Backend, maint_key: bytes, *, ids_cache: str | None = None) -> Index:
        """Read every index file. Raises DecryptionFailed on a damaged one.

        With ``ids_cache`` (a local folder), files whose blob IDs are kept there are
        deferred: read only if a location or the pack list is asked for.
        """
        index = cls()
        index._backend, index._maint_key, index._ids_cache = backend, maint_key, ids_cache
        to_read = []
        for name, _size in sorted(backend.list("index")):
            ids = index._cached_ids(name)
            if ids is None or not _intact(backend, name):
                to_read.append(name)  # (a damaged file is then reported as before)
            else:
                index._blobs.update(dict.fromkeys(ids))  # locations unknown (None) until asked for
                index._deferred.append(name)
            index.files.append(name)
        for name in to_read:
            index._read_file(name, remember=True)
        return index

    def _read_file(self, name: str, *, remember: bool) -> None:
        assert self._backend is not None
        doc = read_index_file(self._backend, name, self._maint_key)
        for pack in doc["packs"]:
            self._add_pack_json(pack)
        if remember:
            self._remember_ids(name, [bytes.fromhex(b["id"]) for pack in doc["packs"] for b in pack["blobs"]])

    def _load_deferred(self) -> None:
        while self._deferred:
            self._read_file(self._deferred.pop(0), remember=False)

    # --- the local list of each index file's blob IDs ---------------------------------

    def _ids_path(self, name: str) -> str | None:
        if self._ids_cache is None:
            return None
        return os.path.join(self._ids_cache, name.rsplit("/", 1)[-1])

    def _cached_ids(self, name: str) -> list[bytes] | None:
        path = self._ids_path(name)
        if path is None:
            return None
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            return None
        size = crypto.ID_SIZE
        if len(data) % size:
            return None
        return [data[i : i + size] for i in range(0, len(data), size)]

    def _remember_ids(self, name: str, ids: list[bytes]) -> None:
        """Keep the blob IDs of index file ``name`` locally (best effort: it is only a cache)."""
        path = self._ids_path(name)
        if path is None:
            return
        tmp = f"{path}.tmp-{os.getpid()}"
        try:
            os.makedirs(self._ids_cache, exist_ok=True)  # type: ignore[arg-type]
            with open(tmp, "wb") as f:
                f.write(b"".join(ids))
            os.replace(tmp, path)
        except OSError:
            try:
                os.remove(tmp)
            except OSError:
                pass


def _intact(backend: Backend, name: str) -> bool:
    """Is the index file still the one its name was made from (BLAKE3 of its bytes)?
    Much cheaper than opening and parsing it, and catches the same damage."""
    try:
        return crypto.content_hash(backend.read(name)).hex() == name.rsplit("/", 1)[-1]
    except OSError:
        return False


def write_index_file(backend: Backend, maint_key: bytes, packs: list[PackContents],
                     supersedes: tuple[str, ...] = ()) -> str:
    """Seal and publish one index file listing ``packs`` (and the index files it supersedes,
    by name without ``index/``); returns its name (``index/<hex>``)."""
    doc = {"version": 1, "packs": [p.to_json() for p in packs], "supersedes": list(supersedes)}
    plain = zstandard.ZstdCompressor(level=3).compress(json.dumps(doc).encode())
    sealed = crypto.seal(maint_key, plain, INDEX_KIND)
    name = "index/" + crypto.content_hash(sealed).hex()
    backend.write_atomic(name, [sealed])
    return name


def read_index_file(backend: Backend, name: str, maint_key: bytes) -> dict:
    plain = crypto.unseal(maint_key, backend.read(name), INDEX_KIND)
    return json.loads(zstandard.ZstdDecompressor().decompress(plain, max_output_size=1 << 31))
