"""Verification reports inside the repository (``reports/<id>``).

The header (snapshot, time, verdict) is sealed with the maintenance key, so
``snapshots`` can show "verified, when, verdict" even with machine
credentials; the full report (table names, counts) is sealed to the
repository's public key.
"""
from __future__ import annotations

import json

from . import crypto
from .repository.repo import Repository

REPORT_KIND = "verification report"
REPORT_BODY_AAD = b"verification report body"


def store_report(repo: Repository, snapshot_id: str, verified_at: str, ok: bool, doc: dict) -> str:
    """Seal and store one report; returns its name in the repository."""
    session = crypto.SealSession(repo.keys.data_public)
    header = {"snapshot_id": snapshot_id, "verified_at": verified_at, "ok": ok,
              "body": {"session": crypto.b64(session.public),
                       "sealed": crypto.b64(session.seal(json.dumps(doc).encode(), REPORT_BODY_AAD))}}
    sealed = crypto.seal(repo.keys.maint_key, json.dumps(header).encode(), REPORT_KIND)
    name = "reports/" + crypto.content_hash(sealed).hex()
    repo.backend.write_atomic(name, [sealed])
    return name


def verifications(repo: Repository) -> dict[str, tuple[str, bool]]:
    """snapshot ID -> (time, verdict) of its latest verification."""
    found: dict[str, tuple[str, bool]] = {}
    for name, _ in repo.backend.list("reports"):
        try:
            doc = json.loads(crypto.unseal(repo.keys.maint_key, repo.backend.read(name), REPORT_KIND))
        except (crypto.DecryptionFailed, ValueError):
            continue
        current = found.get(doc["snapshot_id"])
        if current is None or doc["verified_at"] > current[0]:
            found[doc["snapshot_id"]] = (doc["verified_at"], bool(doc["ok"]))
    return found
