"""Cryptographic building blocks. Every choice here is explained in docs/FORMAT.md.

- Blob IDs are BLAKE3 in keyed mode (a 256-bit secret ``id_key``), with one
  derived key per blob type so a file whose bytes equal a tree listing can
  never be confused with it. Without ``id_key`` nobody can compute the ID of a
  known file, so an ID reveals nothing (no "is this x-ray in the backup?").
- Metadata (index, pack headers, snapshot headers, reference lists, locks) is
  sealed with AES-256-GCM under ``maint_key``, a random 96-bit nonce per
  message and the kind of the object as associated data (so a sealed index
  cannot be passed off as a snapshot). Machine credentials hold this key: it
  reveals IDs, sizes and times, never content or names.
- Content (file and table chunks, trees, snapshot bodies) is sealed to the
  repository's X25519 public key: a writer makes an ephemeral key pair per
  *session*, derives an AES-256-GCM key from the Diffie-Hellman secret with
  HKDF-SHA256, and forgets the private half. Only the holder of the
  repository's private key (passphrase or recovery key) can open it. Nonces in
  a session are a counter: the session key is fresh, so they never repeat.
- The passphrase is stretched with Argon2id (memory-hard); the recovery key is
  160 random bits, so HKDF suffices for it.
"""
from __future__ import annotations

import base64
import os
import threading

import blake3
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ID_SIZE = 32
KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
BLOB_TYPES = ("data", "tree", "refs")


class DecryptionFailed(Exception):
    """Authentication failed: wrong key, or the bytes were changed."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def random_bytes(n: int) -> bytes:
    return os.urandom(n)


def content_hash(data: bytes) -> bytes:
    """Unkeyed BLAKE3, used only over ciphertext (pack and file names)."""
    return blake3.blake3(data).digest()


class IdKeys:
    """Keyed BLAKE3 for blob IDs, one derived key per blob type."""

    def __init__(self, id_key: bytes) -> None:
        self._keys = {t: _derive_id_key(id_key, t) for t in BLOB_TYPES}
        self._keys["files-cache"] = _derive_id_key(id_key, "files-cache")
        self._keys["files-cache dirs"] = _derive_id_key(id_key, "files-cache dirs")

    def blob_id(self, blob_type: str, data: bytes | memoryview) -> bytes:
        return blake3.blake3(data, key=self._keys[blob_type], max_threads=1).digest()

    def cache_key(self, path: str) -> bytes:
        """Key of a path in the local files cache (no plain path is stored)."""
        try:
            raw = path.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate from a Windows name (not a POSIX escape)
            raw = path.encode("utf-8", "surrogatepass")
        return blake3.blake3(raw, key=self._keys["files-cache"], max_threads=1).digest()

    def cache_digest(self, data: bytes) -> bytes:
        """Keyed hash of a folder listing for the local files cache (names never stored plain)."""
        return blake3.blake3(data, key=self._keys["files-cache dirs"], max_threads=1).digest()


def _derive_id_key(id_key: bytes, purpose: str) -> bytes:
    return blake3.blake3(id_key, derive_key_context=f"odbackup 2026-11 blob id {purpose}").digest()


# --- symmetric sealing (metadata) ---------------------------------------------


def _aad_bytes(kind: str | bytes) -> bytes:
    return kind.encode() if isinstance(kind, str) else kind


def seal(key: bytes, plaintext: bytes, kind: str | bytes) -> bytes:
    """AES-256-GCM: nonce (12) || ciphertext || tag (16); ``kind`` is the AAD."""
    nonce = os.urandom(NONCE_SIZE)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, _aad_bytes(kind))


def unseal(key: bytes, sealed: bytes, kind: str | bytes) -> bytes:
    """Open what :func:`seal` made, or raise :class:`DecryptionFailed`."""
    if len(sealed) < NONCE_SIZE + TAG_SIZE:
        raise DecryptionFailed("too short")
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], _aad_bytes(kind))
    except InvalidTag as exc:
        raise DecryptionFailed("authentication failed") from exc


# --- public-key sessions (content) --------------------------------------------


def _session_key(shared: bytes, eph_pub: bytes, repo_pub: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_SIZE,
        salt=eph_pub + repo_pub,
        info=b"odbackup 2026-11 session key",
    ).derive(shared)


def blob_aad(blob_type: str, blob_id: bytes) -> bytes:
    """Binds a blob's ciphertext to its type and ID (no swapping of blobs)."""
    return blob_type.encode() + b"\x00" + blob_id


class SealSession:
    """A writer's session: seals to the repository public key, cannot open."""

    def __init__(self, repo_public: bytes) -> None:
        eph = X25519PrivateKey.generate()
        self.public = eph.public_key().public_bytes_raw()
        shared = eph.exchange(X25519PublicKey.from_public_bytes(repo_public))
        self._aead = AESGCM(_session_key(shared, self.public, repo_public))
        self._counter = 0
        self._lock = threading.Lock()
        # The ephemeral private key goes out of scope here: the writer keeps
        # only the derived key, in memory, for the life of this session.

    def _next_nonce(self) -> bytes:
        with self._lock:
            self._counter += 1
            return self._counter.to_bytes(NONCE_SIZE, "big")

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = self._next_nonce()
        return nonce + self._aead.encrypt(nonce, plaintext, aad)


class SessionOpener:
    """Opens content sealed to the repository key; caches one AEAD per session."""

    def __init__(self, repo_private: bytes) -> None:
        self._private = X25519PrivateKey.from_private_bytes(repo_private)
        self._public = self._private.public_key().public_bytes_raw()
        self._cache: dict[bytes, AESGCM] = {}
        self._lock = threading.Lock()

    def _aead(self, eph_pub: bytes) -> AESGCM:
        with self._lock:
            aead = self._cache.get(eph_pub)
            if aead is None:
                shared = self._private.exchange(X25519PublicKey.from_public_bytes(eph_pub))
                aead = AESGCM(_session_key(shared, eph_pub, self._public))
                self._cache[eph_pub] = aead
            return aead

    def open(self, eph_pub: bytes, sealed: bytes, aad: bytes) -> bytes:
        if len(sealed) < NONCE_SIZE + TAG_SIZE:
            raise DecryptionFailed("too short")
        try:
            return self._aead(eph_pub).decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], aad)
        except InvalidTag as exc:
            raise DecryptionFailed("authentication failed") from exc


def new_keypair() -> tuple[bytes, bytes]:
    """A fresh X25519 key pair as (private, public) raw bytes."""
    priv = X25519PrivateKey.generate()
    return priv.private_bytes_raw(), priv.public_key().public_bytes_raw()


# --- key derivation -------------------------------------------------------------

# OWASP's Argon2id guidance: m >= 19 MiB, t >= 2. We take 64 MiB, t=3, p=4
# (about 0.3 s on a 2-core server): expensive for a guesser, fine once a run.
DEFAULT_ARGON2 = {"iterations": 3, "memory_kib": 64 * 1024, "lanes": 4}
WEAK_ARGON2 = {"iterations": 1, "memory_kib": 64, "lanes": 1}  # tests only


def argon2_params() -> dict:
    """Parameters for a new key file; tests weaken them via ODBACKUP_TEST_WEAK_KDF."""
    weak = os.environ.get("ODBACKUP_TEST_WEAK_KDF") == "1"
    return dict(WEAK_ARGON2 if weak else DEFAULT_ARGON2)


def derive_from_passphrase(passphrase: str, salt: bytes, params: dict) -> bytes:
    """Argon2id(passphrase) -> 32-byte key-encryption key."""
    return Argon2id(
        salt=salt,
        length=KEY_SIZE,
        iterations=int(params["iterations"]),
        lanes=int(params["lanes"]),
        memory_cost=int(params["memory_kib"]),
    ).derive(passphrase.encode("utf-8"))


def derive_from_recovery(secret: bytes, salt: bytes) -> bytes:
    """HKDF-SHA256(recovery secret) -> 32-byte key-encryption key."""
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_SIZE, salt=salt, info=b"odbackup 2026-11 recovery"
    ).derive(secret)
