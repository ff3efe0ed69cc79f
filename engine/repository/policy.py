"""The retention policy stored in the repository (``policy``), signed by the passphrase holder.

Machine credentials may *apply* the stored policy but never set or loosen
it: a stolen server must not be able to "forget" the history. So the file is
signed with an Ed25519 key derived from ``data_private`` (which only the
passphrase or recovery key opens); its public half is written into the
machine credentials when the machine is enrolled, so a machine can check the
signature without being able to make one. The whole file is also sealed
with the maintenance key, like every other object (docs/FORMAT.md 10.1).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .. import crypto
from ..errors import RepositoryDamaged
from ..retention import Duration, Policy
from .storage import Backend

POLICY_FILE = "policy"
POLICY_KIND = "retention policy"
SIGNED_CONTEXT = b"odbackup 2026-11 retention policy\x00"
_SIGNING_INFO = b"odbackup 2026-11 policy signing key"
COUNT_FIELDS = ("last", "hourly", "daily", "weekly", "monthly", "yearly")


@dataclass(frozen=True)
class StoredPolicy:
    """The policy as stored: what it keeps, and when it was set."""

    policy: Policy
    set_at: str


def _signing_key(data_private: bytes) -> Ed25519PrivateKey:
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SIGNING_INFO).derive(data_private)
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key(data_private: bytes) -> bytes:
    """The 32-byte Ed25519 key that checks policy signatures (stored in machine credentials)."""
    return _signing_key(data_private).public_key().public_bytes_raw()


def policy_json(policy: Policy) -> dict:
    return {**{name: getattr(policy, name) for name in COUNT_FIELDS}, "within": str(policy.within)}


def policy_from_json(doc: dict) -> Policy:
    counts = {name: int(doc.get(name, 0)) for name in COUNT_FIELDS}
    within = Duration.parse(doc.get("within") or "0h")
    return Policy(**counts, within=within)


def _signed_bytes(repo_id: str, policy_doc: dict, set_at: str) -> bytes:
    body = {"repo_id": repo_id, "policy": policy_doc, "set": set_at}
    return SIGNED_CONTEXT + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def save_policy(backend: Backend, maint_key: bytes, repo_id: str, data_private: bytes, policy: Policy) -> StoredPolicy:
    """Sign (full key only) and store ``policy``, replacing the stored one atomically."""
    set_at = datetime.now(UTC).isoformat(timespec="seconds")
    doc = policy_json(policy)
    signature = _signing_key(data_private).sign(_signed_bytes(repo_id, doc, set_at))
    plain = {"version": 1, "policy": doc, "set": set_at, "signature": crypto.b64(signature)}
    backend.write_atomic(POLICY_FILE, [crypto.seal(maint_key, json.dumps(plain).encode(), POLICY_KIND)])
    return StoredPolicy(policy, set_at)


def load_policy(backend: Backend, maint_key: bytes, repo_id: str, verify_key: bytes) -> StoredPolicy | None:
    """The stored policy (None when none was set), its signature checked with ``verify_key``.

    Raises :class:`RepositoryDamaged` when the file is damaged or not signed by the passphrase
    holder: then nothing may be forgotten by it.
    """
    if not backend.exists(POLICY_FILE):
        return None
    try:
        doc = json.loads(crypto.unseal(maint_key, backend.read(POLICY_FILE), POLICY_KIND))
        Ed25519PublicKey.from_public_bytes(verify_key).verify(
            crypto.unb64(doc["signature"]), _signed_bytes(repo_id, doc["policy"], doc["set"]))
        return StoredPolicy(policy_from_json(doc["policy"]), doc["set"])
    except (crypto.DecryptionFailed, InvalidSignature, ValueError, KeyError, TypeError) as exc:
        raise RepositoryDamaged(
            "The retention policy stored in the repository is damaged or was not set with the passphrase; "
            "nothing is forgotten by it.",
            hint="Set it again with the passphrase: 'odbackup forget --repo REPO --save-policy ...'.") from exc
