"""Opening, creating and unlocking a repository; reading and writing blobs.

Layout of a repository folder (docs/FORMAT.md has the bytes)::

    config              plain JSON: format name, version, repository ID
    keys/<id>           key files (passphrase, recovery key)
    data/<xx>/<id>      pack files
    index/<id>          index files
    snapshots/<id>      snapshot files
    reports/<id>        verification reports (sealed)
    locks/              exclusive and shared locks
"""
from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime

from .. import crypto, paths
from ..errors import (
    NeedsFullKey,
    NoCredentials,
    RepositoryDamaged,
    RepositoryNotFound,
    UnsafeSnapshot,
)
from ..events import Event, PackWritten, ignore_events
from ..recovery import format_recovery_key, new_recovery_secret
from . import keys as keymod
from .blobs import LEVEL, open_blob, seal_blob
from .choosing import choose_snapshot
from .index import Index
from .locations import open_backend, prepare_new
from .lock import RepoLock
from .names import check_tree
from .pack import DEFAULT_PACK_SIZE, PackWriter, pack_name
from .snapshot import Snapshot, read_snapshot, snapshot_ids
from .storage import Backend, RangeReader
from .treeahead import TreeReadAhead

AHEAD_RETRY_SECONDS = 10.0
"""A tree read ahead is retried this long at most (a failed one is read again, with the full retries)."""

FORMAT_NAME = "odbackup repository"
FORMAT_VERSION = 1
FOLDERS = ("keys", "data", "index", "snapshots", "reports", "locks")
INDEX_SAVE_EVERY_PACKS = 8
INDEX_SAVE_EVERY_SECONDS = 30.0


def pack_size_target() -> int:
    return int(os.environ.get("ODBACKUP_TEST_PACK_SIZE") or DEFAULT_PACK_SIZE)



class Repository:
    """An opened repository. Unlock it (passphrase or machine credentials) before use."""

    def __init__(self, backend: Backend, config: dict) -> None:
        self.backend = backend
        self.config = config
        use_config = getattr(backend, "use_config", None)  # a bucket: Object Lock (s3lock.py)
        if use_config is not None:
            use_config(config)
        self.repo_id: str = config["id"]
        self._keys: keymod.Keys | None = None
        self._opener: crypto.SessionOpener | None = None
        self._ids: crypto.IdKeys | None = None
        self._index: Index | None = None
        self.damaged_key_files: list[tuple[str, str]] = []
        """Key files skipped when unlocking, as (name, why): say so, and run ``check``."""
        self.snapshot_problems: dict[str, str] = {}
        """Damaged snapshots found by the last :meth:`snapshots`: ID -> what is wrong."""
        self._trees_ahead = self._reading_ahead(backend)
        """Online storage: subfolder trees read ahead (treeahead.py); closed with a reader's lock."""

    @staticmethod
    def _reading_ahead(backend: Backend) -> TreeReadAhead | None:
        if not getattr(backend, "reads_ahead_trees", False):
            return None
        quick = backend.retrying_at_most(AHEAD_RETRY_SECONDS)  # type: ignore[attr-defined]
        return TreeReadAhead(quick.read_range)

    def stop_reading_ahead(self) -> None:
        """Drop the trees being read ahead (the walk ended, finished or cancelled: treeahead.py)."""
        if self._trees_ahead is not None:
            self._trees_ahead.close()

    # --- creating and opening ------------------------------------------------------

    @classmethod
    def init(cls, location: str, passphrase: str, *, object_lock_days: int = 0) -> tuple[Repository, str]:
        """Create a repository; returns it (unlocked) and the recovery key to show once.
        ``object_lock_days``: in a bucket with Object Lock, lock packs, index and snapshot files
        that long (docs/FORMAT.md section 2.2). Its secrets hold the family recovery key
        (FORMAT.md 4.1), so that its recovery key opens the repositories related to it."""
        extra = {"object_lock_days": object_lock_days} if object_lock_days else {}
        recovery = new_recovery_secret()
        family = keymod.FamilyRecovery.derive(recovery)
        repo, shown = cls._create(
            location, passphrase, lambda repo_id: dataclasses.replace(keymod.Keys.generate(repo_id),
                                                                      family_recovery=family),
            extra, recovery)
        assert shown is not None
        return repo, shown

    @classmethod
    def init_related(cls, location: str, source: Repository, passphrase: str, label: str = "", *,
                     object_lock_days: int = 0, source_recovery_key: str | None = None
                     ) -> tuple[Repository, str | None]:
        """Create a repository related to ``source`` (unlocked with its full key): its own ID, label and
        key files (``passphrase``), but ``source``'s secrets, so sealed blobs, refs blobs and snapshot
        files are copied between the two as they are (docs/FORMAT.md section 10.4).

        Its recovery key file opens with ``source``'s recovery key (the second value returned is then
        None) when ``source``'s secrets hold the family recovery key, or when ``source_recovery_key``
        (the recovery key that unlocked ``source``) is given; else (a main repository made before the
        family recovery key) it gets its own recovery key, returned to be shown once."""
        source.require_full_key()
        extra: dict[str, str | int] = {"family": source.family, "label": label}
        if object_lock_days:
            extra["object_lock_days"] = object_lock_days
        family = source.keys.family_recovery
        if family is None and source_recovery_key is not None:
            family = keymod.FamilyRecovery.of_repository(source.backend, source.repo_id, source_recovery_key)
        recovery = new_recovery_secret() if family is None else None
        return cls._create(location, passphrase,
                           lambda repo_id: dataclasses.replace(source.keys, repo_id=repo_id, family_recovery=family),
                           extra, recovery)

    @classmethod
    def _create(cls, location: str, passphrase: str, keys_for: Callable[[str], keymod.Keys],
                config_extra: dict, recovery: bytes | None) -> tuple[Repository, str | None]:
        """The folders, the key files and, last, the config. The recovery key file is sealed with
        ``recovery`` (its printed form is returned), else with the keys' family recovery key."""
        backend = prepare_new(location, FOLDERS, int(config_extra.get("object_lock_days") or 0))
        repo_id = os.urandom(16).hex()
        config = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "id": repo_id, **config_extra}
        keys = keys_for(repo_id)
        keymod.add_key_file(backend, keymod.make_key_file(keys, passphrase=passphrase))
        if recovery is not None:
            keymod.add_key_file(backend, keymod.make_key_file(keys, recovery=recovery))
        else:
            assert keys.family_recovery is not None
            keymod.add_key_file(backend, keymod.make_key_file(keys, family=keys.family_recovery))
        # The config is written last: a folder without it is not a repository yet.
        backend.write_atomic("config", [json.dumps(config, indent=1).encode()])
        repo = cls(backend, config)
        repo._set_keys(keys)
        return repo, format_recovery_key(recovery) if recovery is not None else None

    @property
    def family(self) -> str:
        """The ID of the repository whose secrets this one uses (its own ID unless made related)."""
        return str(self.config.get("family") or self.repo_id)

    @property
    def label(self) -> str:
        """The label given when the repository was made (``init --label``), readable without keys."""
        return str(self.config.get("label") or "")

    def related_to(self, other: Repository) -> bool:
        """Do the two repositories share their secrets (same family), so sealed blobs copy as they are?"""
        return self.family == other.family

    @classmethod
    def open(cls, location: str) -> Repository:
        """Open the repository at ``location`` (not yet unlocked)."""
        backend = open_backend(location)
        try:
            config = json.loads(backend.read("config"))
        except FileNotFoundError as exc:
            raise RepositoryNotFound(f"There is no odbackup repository at '{location}'.") from exc
        except (ValueError, OSError) as exc:
            raise RepositoryDamaged(f"The repository's config file at '{location}' cannot be read.") from exc
        if config.get("format") != FORMAT_NAME:
            raise RepositoryNotFound(f"'{location}' is not an odbackup repository.")
        if int(config.get("version", 0)) > FORMAT_VERSION:
            raise RepositoryDamaged(
                "This repository was made by a newer odbackup.", hint="Update odbackup on this machine."
            )
        return cls(backend, config)

    @property
    def location(self) -> str:
        return self.backend.location

    # --- keys --------------------------------------------------------------------------

    def _set_keys(self, keys: keymod.Keys) -> None:
        self._keys = keys
        self._ids = crypto.IdKeys(keys.id_key)
        self._opener = crypto.SessionOpener(keys.data_private) if keys.data_private else None

    def unlock(self, secret: str) -> None:
        """Unlock with the passphrase or recovery key (full access)."""
        files = keymod.key_files(self.backend)
        keys, _name = keymod.unlock(self.backend, self.repo_id, secret, files)
        self._set_keys(keys)
        self.damaged_key_files = files.damaged

    def use_machine_credentials(self) -> None:
        """Unlock with this machine's write-only credentials: its own, else (a related repository,
        section 10.4) those enrolled for the repository of its family, which hold the same secrets."""
        try:
            keys = keymod.load_machine_credentials(self.repo_id)
        except NoCredentials:
            if self.family == self.repo_id:
                raise
            keys = keymod.load_machine_credentials(self.family)
        self._set_keys(dataclasses.replace(keys, repo_id=self.repo_id))

    def use_family_keys(self, other: Repository) -> None:
        """Unlock with the keys of ``other``, a related repository already unlocked (one family
        holds the same secrets, section 10.4): an archive drive opened beside the main repository."""
        if not self.related_to(other):
            raise NoCredentials(f"{self.location} is not related to {other.location}.")
        self._set_keys(dataclasses.replace(other.keys, repo_id=self.repo_id))

    @property
    def keys(self) -> keymod.Keys:
        assert self._keys is not None, "repository not unlocked"
        return self._keys

    @property
    def ids(self) -> crypto.IdKeys:
        assert self._ids is not None, "repository not unlocked"
        return self._ids

    @property
    def can_read(self) -> bool:
        return self._opener is not None

    def require_full_key(self) -> crypto.SessionOpener:
        if self._opener is None:
            raise NeedsFullKey()
        return self._opener

    def change_passphrase(self, old_secret: str, new_passphrase: str) -> None:
        """Replace the passphrase: a new key file, then the old passphrase files go.

        The secrets inside do not change, so no data is re-encrypted and the
        recovery key keeps working. ``old_secret`` may be the recovery key.
        """
        keys, _name = keymod.unlock(self.backend, self.repo_id, old_secret)
        new_name = keymod.add_key_file(self.backend, keymod.make_key_file(keys, passphrase=new_passphrase))
        for other, doc in keymod.key_files(self.backend).readable:
            if doc.get("kind") == "passphrase" and other != new_name:
                self.backend.remove(other)

    # --- index and blobs -----------------------------------------------------------------

    @property
    def index(self) -> Index:
        if self._index is None:
            try:
                self._index = Index.load(self.backend, self.keys.maint_key, ids_cache=self._index_ids_cache())
            except crypto.DecryptionFailed as exc:
                raise RepositoryDamaged("An index file of the repository is damaged.") from exc
        return self._index

    def _index_ids_cache(self) -> str:
        """Local folder keeping each index file's blob IDs (see ``Index``)."""
        return os.path.join(paths.cache_dir(), self.repo_id, "index")

    def read_blob(self, blob_id: bytes, reader: RangeReader | None = None) -> bytes:
        """The plaintext of a blob, authenticated and checked against its ID (read through
        ``reader``, which keeps pack files open, when the caller has one)."""
        try:
            loc = self.index.get(blob_id)
        except crypto.DecryptionFailed as exc:
            raise RepositoryDamaged("An index file of the repository is damaged.") from exc
        if loc is None:
            raise RepositoryDamaged(f"Blob {blob_id.hex()[:12]} is missing from the repository.")
        try:
            ahead = self._trees_ahead.take(blob_id) if self._trees_ahead is not None else None
            sealed = ahead if ahead is not None else (reader or self.backend).read_range(
                pack_name(loc.pack_id), loc.offset, loc.length)
            if len(sealed) != loc.length:
                raise crypto.DecryptionFailed("pack is shorter than the index says")
            plain = open_blob(
                loc.blob_type,
                blob_id,
                sealed,
                loc.raw_length,
                session_pub=loc.session,
                opener=self._opener,
                maint_key=self.keys.maint_key,
            )
        except FileNotFoundError as exc:
            raise RepositoryDamaged(f"Pack {loc.pack_id[:12]} is missing.") from exc
        except crypto.DecryptionFailed as exc:
            raise RepositoryDamaged(
                f"Blob {blob_id.hex()[:12]} in pack {loc.pack_id[:12]} is damaged ({exc})."
            ) from exc
        if self.ids.blob_id(loc.blob_type, plain) != blob_id:
            raise RepositoryDamaged(f"Blob {blob_id.hex()[:12]} does not match its ID.")
        return plain

    def read_tree(self, tree_id: bytes) -> dict:
        """A tree blob (folder listing or database description), its names checked
        (:class:`~engine.errors.UnsafeSnapshot` for a damaged or forged one)."""
        try:
            tree = json.loads(self.read_blob(tree_id))
        except ValueError as exc:
            raise UnsafeSnapshot(f"A listing in the snapshot (tree {tree_id.hex()[:12]}) is damaged.") from exc
        check_tree(tree_id, tree)
        if self._trees_ahead is not None:
            self._trees_ahead.after(tree, self.index.get)
        return tree

    # --- snapshots --------------------------------------------------------------------------

    def reading(self, command: str) -> RepoLock:
        """A reader's shared lock for ``command`` (docs/FORMAT.md section 9); use it as a context
        manager around the reading. Unlocked with any credentials (machine credentials too)."""
        lock, _replaced = RepoLock.acquire(self.backend, self.keys.maint_key, command, mode="read")
        lock.on_release = self.stop_reading_ahead  # the reading ends: nothing more is read ahead for it
        return lock

    def snapshots(self) -> list[Snapshot]:
        """All readable snapshots, oldest first (bodies opened when the full key is in hand).

        A damaged snapshot file is left out (and named in ``damaged_snapshots``,
        with why in ``snapshot_problems``) so that one bad file never hides the
        good snapshots; :meth:`find_snapshot` never silently steps over it.
        """
        snaps = []
        self.snapshot_problems = {}
        for snap_id in snapshot_ids(self.backend):
            try:
                snap = read_snapshot(self.backend, self.keys.maint_key, snap_id)
                if self._opener is not None:
                    snap.open_body(self._opener)
            except UnsafeSnapshot as exc:
                self.snapshot_problems[snap_id] = str(exc)
                continue
            except (crypto.DecryptionFailed, ValueError, KeyError, TypeError):
                self.snapshot_problems[snap_id] = (f"Snapshot {snap_id[:8]} is damaged: its file "
                                                   f"snapshots/{snap_id} cannot be read.")
                continue
            snaps.append(snap)
        return sorted(snaps, key=lambda s: (s.time, s.snapshot_id))

    @property
    def damaged_snapshots(self) -> list[str]:
        """The IDs of the damaged snapshots found by the last :meth:`snapshots`."""
        return list(self.snapshot_problems)

    def find_snapshot(self, ref: str) -> Snapshot:
        """``latest``, an ID prefix (4+ hex digits) or a local date/time -> the snapshot.

        A date (``2026-11-20``) or date and time (``2026-11-20T17:00``, local
        time) picks the latest snapshot taken at or before it (a date means the
        end of that day): "the backup as it was on Friday evening".

        A damaged snapshot file is never stepped over: when it may be the one
        asked for (by its ID, or as ``latest`` or the latest before a date,
        judged by when its file was written), :class:`SnapshotDamaged` names it
        and the newest readable snapshot to name instead.
        """
        return choose_snapshot(ref, self.snapshots(), self.snapshot_problems, self._written)

    def _written(self, snap_id: str) -> datetime:
        """When a snapshot's file was written (latest possible when that cannot be told)."""
        try:
            return datetime.fromtimestamp(self.backend.modified(f"snapshots/{snap_id}")).astimezone()
        except OSError:
            return datetime.max.replace(tzinfo=datetime.now().astimezone().tzinfo)


class BlobWriter:
    """Stores blobs for one writing run: dedup, packs, periodic index files.

    Thread-safe for adding: the sealing pipeline's workers append the chunks they sealed
    to the pack themselves (``add_sealed``), while the walk stores tree and refs blobs
    (``store``); one lock keeps the pack, the index and the counters whole. ``claim`` takes
    no lock: the pipeline claims under its own, and a blob claimed twice by a race would
    only be stored twice (the index keeps the first)."""

    def __init__(
        self,
        repo: Repository,
        *,
        on_event: Callable[[Event], None] = ignore_events,
        on_pack: Callable[[], None] = lambda: None,
    ) -> None:
        self.repo = repo
        self.session = crypto.SealSession(repo.keys.data_public)
        self._packer = PackWriter(repo.backend, repo.keys.maint_key, pack_size_target())
        self._pending: set[bytes] = set()
        self._on_event = on_event
        self._on_pack = on_pack
        self._packs_since_save = 0
        self._last_save = time.monotonic()
        self._pack_lock = threading.RLock()
        self.bytes_stored = 0

    def known(self, blob_id: bytes) -> bool:
        return blob_id in self._pending or blob_id in self.repo.index

    def all_known(self, ids: bytes) -> bool:
        """Are all the blobs whose 32-byte IDs are concatenated in ``ids`` stored (or pending)?"""
        wanted = [ids[i : i + 32] for i in range(0, len(ids), 32)]  # 32 = crypto.ID_SIZE
        return self.repo.index.has_all(wanted) or all(map(self.known, wanted))

    def claim(self, blob_id: bytes) -> bool:
        """True if the caller should store this blob (first sight in repo and run)."""
        if self.known(blob_id):
            return False
        self._pending.add(blob_id)
        return True

    def store(self, blob_type: str, data: bytes) -> bytes:
        """Seal and store (if new) a small blob in this thread; returns its ID."""
        blob_id = self.repo.ids.blob_id(blob_type, data)
        if self.claim(blob_id):
            session = None if blob_type == "refs" else self.session
            sealed = seal_blob(blob_type, blob_id, data, session=session, maint_key=self.repo.keys.maint_key)
            self.add_sealed(blob_type, blob_id, sealed, len(data))
        return blob_id

    def seal_data(self, blob_id: bytes, data: bytes | memoryview, level: int = LEVEL) -> bytes:
        """Thread-safe: compress (zstd ``level``) and seal a data chunk (run in worker threads)."""
        return seal_blob("data", blob_id, data, session=self.session, maint_key=self.repo.keys.maint_key,
                         level=level)

    def add_sealed(self, blob_type: str, blob_id: bytes, sealed: bytes, raw_length: int) -> None:
        """Append a sealed blob to the pack (from any thread); a full pack is published."""
        session = None if blob_type == "refs" else self.session.public
        with self._pack_lock:
            self._packer.add(blob_type, blob_id, sealed, raw_length, session)
            self.bytes_stored += len(sealed)
            if self._packer.full:
                self._finish_pack()

    def _finish_pack(self) -> None:
        contents = self._packer.finish()
        self.repo.index.add_pack(contents, unsaved=True)
        self._on_event(PackWritten(contents.pack_id, contents.size, len(contents.blobs)))
        self._packs_since_save += 1
        if (
            self._packs_since_save >= INDEX_SAVE_EVERY_PACKS
            or time.monotonic() - self._last_save > INDEX_SAVE_EVERY_SECONDS
        ):
            self._save_index()
        self._on_pack()

    def _save_index(self) -> None:
        self.repo.index.save(self.repo.backend, self.repo.keys.maint_key)
        self._packs_since_save = 0
        self._last_save = time.monotonic()

    def flush(self) -> None:
        """Make everything stored so far durable and indexed."""
        with self._pack_lock:
            if not self._packer.empty:
                self._finish_pack()
            self._save_index()

    def abort(self) -> None:
        """Drop the unfinished pack (its blobs were never indexed). Stop whatever adds blobs first
        (the pipeline's workers): a blob added afterwards would start a new temporary pack."""
        with self._pack_lock:
            self._packer.discard()
