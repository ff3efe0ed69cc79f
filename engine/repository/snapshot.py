"""Snapshot files: one per backup run.

``snapshots/<id>`` is sealed with the maintenance key, so machine credentials
can list snapshots (time, host, status, sizes) and walk their reference lists
to decide what is still used. The *body* (source paths, folder trees, table
names) is sealed inside it to the repository's public key: only the
passphrase or recovery key opens it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from .. import crypto
from .names import check_body
from .records import SnapshotBody, SnapshotStats, Source, parse
from .storage import Backend

HEADER_KIND = "snapshot"
BODY_AAD = b"snapshot body"


@dataclass
class Snapshot:
    """A snapshot as stored. ``body`` is None until opened with the full key. Its stats and body are
    typed records (:mod:`engine.repository.records`) that write back exactly the JSON they were read from."""

    snapshot_id: str
    time: str
    hostname: str
    complete: bool
    stats: SnapshotStats
    refs: bytes
    body_session: bytes
    body_sealed: bytes
    body: SnapshotBody | None = field(default=None)

    @property
    def short_id(self) -> str:
        return self.snapshot_id[:8]

    def header_json(self) -> dict:
        return {
            "version": 1,
            "time": self.time,
            "hostname": self.hostname,
            "complete": self.complete,
            "stats": self.stats.to_json(),
            "refs": self.refs.hex(),
            "body": {"session": crypto.b64(self.body_session), "sealed": crypto.b64(self.body_sealed)},
        }

    def open_body(self, opener: crypto.SessionOpener) -> SnapshotBody:
        """Open the body (full key only) and check its names: raises ``crypto.DecryptionFailed`` when
        it is damaged, ``ValueError`` when it is malformed, :class:`~engine.errors.UnsafeSnapshot` when
        it names a source unsafely."""
        if self.body is None:
            plain = opener.open(self.body_session, self.body_sealed, BODY_AAD)
            body = json.loads(plain)
            check_body(self.snapshot_id, body)
            self.body = parse(SnapshotBody, body)
        return self.body

    @property
    def sources(self) -> tuple[Source, ...]:
        assert self.body is not None, "open_body first"
        return self.body.sources


def seal_body(body: SnapshotBody, session: crypto.SealSession) -> bytes:
    return session.seal(json.dumps(body.to_json(), sort_keys=True).encode(), BODY_AAD)


def write_snapshot(backend: Backend, maint_key: bytes, snap: Snapshot) -> str:
    """Seal and store; returns the new snapshot ID (hash of the file)."""
    sealed = crypto.seal(maint_key, json.dumps(snap.header_json()).encode(), HEADER_KIND)
    snap_id = crypto.content_hash(sealed).hex()
    backend.write_atomic(f"snapshots/{snap_id}", [sealed])
    snap.snapshot_id = snap_id
    return snap_id


def read_snapshot(backend: Backend, maint_key: bytes, snap_id: str) -> Snapshot:
    sealed = backend.read(f"snapshots/{snap_id}")
    if crypto.content_hash(sealed).hex() != snap_id:
        raise crypto.DecryptionFailed(f"snapshot {snap_id[:8]} does not match its name")
    doc = json.loads(crypto.unseal(maint_key, sealed, HEADER_KIND))
    return Snapshot(
        snapshot_id=snap_id,
        time=doc["time"],
        hostname=doc["hostname"],
        complete=bool(doc["complete"]),
        stats=parse(SnapshotStats, doc["stats"]),
        refs=bytes.fromhex(doc["refs"]),
        body_session=crypto.unb64(doc["body"]["session"]),
        body_sealed=crypto.unb64(doc["body"]["sealed"]),
    )


def snapshot_ids(backend: Backend) -> list[str]:
    return [name.split("/", 1)[1] for name, _ in backend.list("snapshots")]
