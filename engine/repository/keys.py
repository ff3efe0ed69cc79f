"""Repository secrets, key files and write-only machine credentials.

The repository's secrets (:class:`Keys`):

- ``id_key``: keyed BLAKE3 key for blob IDs (and the chunker's seed).
- ``maint_key``: AES-256-GCM key for metadata (index, pack headers, snapshot
  headers, reference lists, locks).
- ``data_private`` / ``data_public``: the X25519 pair content is sealed to.

A key file (``keys/<id>``) holds all of them sealed under a key derived from
the passphrase (Argon2id) or from the recovery key (HKDF). Changing the
passphrase writes a new key file and removes the old one: no data is
re-encrypted, because the data keys do not change.

Machine credentials hold ``id_key``, ``maint_key`` and ``data_public`` but not
``data_private``: enough to add snapshots (and later to delete old ones and
repack), never enough to read content, file names or table names back.

The family recovery key (:class:`FamilyRecovery`, docs/FORMAT.md 4.1 and 10.4):
a repository made with ``init`` also keeps, among its sealed secrets, a key
derived from its recovery key, so a repository related to it (an archive drive,
the supplemental copy) gets a recovery key file the *main* recovery key opens.
Why this gives nothing away: it sits beside ``data_private`` in the sealed
secrets, so only a holder of the passphrase or recovery key sees it, and they
can read everything already; it is never in machine credentials.
"""
from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

from .. import crypto, paths
from ..errors import KeyFileDamaged, NoCredentials, OdbackupError, WrongPassphrase
from ..recovery import BadRecoveryKey, looks_like_recovery_key, parse_recovery_key
from .storage import Backend

KEY_KIND = "odbackup key file"


@dataclass(frozen=True)
class FamilyRecovery:
    """The key-encryption key of a recovery key file the main repository's recovery key opens:
    ``kek`` = HKDF-SHA256(the main recovery secret, ``salt``), exactly as a recovery key file's KEK
    (4.2), kept sealed so that a relative made later (with the passphrase) can get such a file."""

    salt: bytes
    kek: bytes

    @classmethod
    def derive(cls, recovery: bytes) -> FamilyRecovery:
        """From the 20-byte recovery secret, with a fresh salt (not that of any recovery key file)."""
        salt = crypto.random_bytes(16)
        return cls(salt, crypto.derive_from_recovery(recovery, salt))

    @classmethod
    def of_repository(cls, backend: Backend, repo_id: str, recovery_key: str) -> FamilyRecovery:
        """From the recovery key of the repository at ``backend``, once it is checked to open it (a
        repository made before the family recovery key, unlocked with its recovery key)."""
        secret = parse_recovery_key(recovery_key)
        unlock(backend, repo_id, recovery_key)
        return cls.derive(secret)

    def to_json(self) -> dict:
        return {"salt": crypto.b64(self.salt), "kek": crypto.b64(self.kek)}

    @classmethod
    def from_json(cls, doc: dict) -> FamilyRecovery:
        return cls(crypto.unb64(doc["salt"]), crypto.unb64(doc["kek"]))


@dataclass(frozen=True)
class Keys:
    """The secrets in hand: full (with ``data_private``) or write-only."""

    repo_id: str
    id_key: bytes
    maint_key: bytes
    chunker_seed: int
    data_public: bytes
    data_private: bytes | None = None
    family_recovery: FamilyRecovery | None = None
    """Absent in repositories made before it existed (their relatives get their own recovery key)."""

    @property
    def can_read(self) -> bool:
        return self.data_private is not None

    def write_only(self) -> Keys:
        """Without ``data_private`` and ``family_recovery`` (which opens the relatives' key files)."""
        return Keys(self.repo_id, self.id_key, self.maint_key, self.chunker_seed, self.data_public)

    def to_json(self) -> dict:
        doc = {
            "repo_id": self.repo_id,
            "id_key": crypto.b64(self.id_key),
            "maint_key": crypto.b64(self.maint_key),
            "chunker_seed": self.chunker_seed,
            "data_public": crypto.b64(self.data_public),
        }
        if self.data_private is not None:
            doc["data_private"] = crypto.b64(self.data_private)
        if self.family_recovery is not None:
            doc["family_recovery"] = self.family_recovery.to_json()
        return doc

    @classmethod
    def from_json(cls, doc: dict) -> Keys:
        private = doc.get("data_private")
        family = doc.get("family_recovery")
        return cls(
            repo_id=doc["repo_id"],
            id_key=crypto.unb64(doc["id_key"]),
            maint_key=crypto.unb64(doc["maint_key"]),
            chunker_seed=int(doc["chunker_seed"]),
            data_public=crypto.unb64(doc["data_public"]),
            data_private=crypto.unb64(private) if private else None,
            family_recovery=FamilyRecovery.from_json(family) if family else None,
        )

    @classmethod
    def generate(cls, repo_id: str) -> Keys:
        private, public = crypto.new_keypair()
        # 63 bits: pyfastcdc XORs the seed into its 64-bit gear table.
        seed = int.from_bytes(crypto.random_bytes(8), "big") >> 1
        return cls(repo_id, crypto.random_bytes(32), crypto.random_bytes(32), seed, public, private)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _aad(repo_id: str) -> str:
    return f"{KEY_KIND} {repo_id}"


def make_key_file(keys: Keys, *, passphrase: str | None = None, recovery: bytes | None = None,
                  family: FamilyRecovery | None = None) -> bytes:
    """Seal ``keys`` under a passphrase (Argon2id), a recovery secret (HKDF) or ``family``, the KEK
    the main repository's recovery secret derives (a recovery key file like any other: 4.2)."""
    salt = crypto.random_bytes(16)
    if family is not None:
        kek, salt = family.kek, family.salt
        kdf = {"algorithm": "hkdf-sha256", "salt": crypto.b64(salt)}
        kind = "recovery"
    elif passphrase is not None:
        params = crypto.argon2_params()
        kek = crypto.derive_from_passphrase(passphrase, salt, params)
        kdf = {"algorithm": "argon2id", "salt": crypto.b64(salt), **params}
        kind = "passphrase"
    elif recovery is not None:
        kek = crypto.derive_from_recovery(recovery, salt)
        kdf = {"algorithm": "hkdf-sha256", "salt": crypto.b64(salt)}
        kind = "recovery"
    else:
        raise ValueError("a passphrase or a recovery secret is needed")
    plaintext = json.dumps(keys.to_json()).encode()
    doc = {
        "version": 1,
        "kind": kind,
        "created": _now(),
        "kdf": kdf,
        "sealed": crypto.b64(crypto.seal(kek, plaintext, _aad(keys.repo_id))),
    }
    return json.dumps(doc, indent=1).encode()


def _open_key_file(doc: dict, repo_id: str, secret: str) -> Keys | None:
    kdf = doc["kdf"]
    salt = crypto.unb64(kdf["salt"])
    if kdf["algorithm"] == "argon2id":
        kek = crypto.derive_from_passphrase(secret, salt, kdf)
    elif kdf["algorithm"] == "hkdf-sha256":
        try:
            kek = crypto.derive_from_recovery(parse_recovery_key(secret), salt)
        except BadRecoveryKey:
            return None
    else:
        return None
    try:
        plain = crypto.unseal(kek, crypto.unb64(doc["sealed"]), _aad(repo_id))
    except crypto.DecryptionFailed:
        return None
    return Keys.from_json(json.loads(plain))


@dataclass(frozen=True)
class KeyFiles:
    """The key files of a repository: those that can be read, and those that cannot (with why)."""

    readable: list[tuple[str, dict]]
    damaged: list[tuple[str, str]]

    def kinds(self) -> set[str]:
        return {str(doc.get("kind")) for _name, doc in self.readable}


def key_files(backend: Backend) -> KeyFiles:
    """Every key file, read and checked: a damaged one is set aside, never fatal to the others."""
    readable, damaged = [], []
    for name, _size in backend.list("keys"):
        try:
            readable.append((name, _read_key_file(backend, name)))
        except (OSError, ValueError) as exc:
            damaged.append((name, str(exc)))
    return KeyFiles(readable, damaged)


def _read_key_file(backend: Backend, name: str) -> dict:
    """A key file's JSON; ValueError when its bytes are not those its name was made from, or it is not
    a key file (the name is the BLAKE3 of the bytes, so any damage shows before a secret is tried)."""
    data = backend.read(name)
    if crypto.content_hash(data).hex() != name.rsplit("/", 1)[-1]:
        raise ValueError("its bytes do not match its name (cut short or changed)")
    doc = json.loads(data)
    if not isinstance(doc, dict) or doc.get("kind") not in ("passphrase", "recovery"):
        raise ValueError("it is not a key file")
    if not isinstance(doc.get("kdf"), dict) or not isinstance(doc.get("sealed"), str):
        raise ValueError("it is not a key file")
    return doc


def unlock(backend: Backend, repo_id: str, secret: str, files: KeyFiles | None = None) -> tuple[Keys, str]:
    """Try ``secret`` as passphrase or recovery key against every key file.

    Returns the keys and the name of the key file that opened (``files``: the
    key files already read, else they are read here). Recovery-key
    files are tried only when the text is a well-formed recovery key (and
    then first); a recovery key with a typo is reported as such.
    """
    kinds = ["passphrase"]
    typo = None
    if looks_like_recovery_key(secret):
        try:
            parse_recovery_key(secret)
            kinds.insert(0, "recovery")
        except BadRecoveryKey as exc:
            typo = str(exc)
    files = files if files is not None else key_files(backend)
    for kind in kinds:
        for name, doc in files.readable:
            if doc.get("kind") != kind:
                continue
            keys = _open_key_file(doc, repo_id, secret)
            if keys is not None and keys.repo_id == repo_id:
                return keys, name
    raise _not_opened(files, typo)


def _not_opened(files: KeyFiles, typo: str | None) -> OdbackupError:
    """Why no key file opened: a wrong secret, or (said so) damaged key files."""
    if not files.damaged:
        return WrongPassphrase(typo)
    names = ", ".join(name for name, _why in files.damaged)
    if not files.readable:
        return KeyFileDamaged(f"No key file of this repository can be read ({names} damaged).")
    return WrongPassphrase(
        typo or f"The passphrase or recovery key does not open any readable key file; {names} is damaged "
        "and was skipped.",
        hint="If you are sure of the passphrase, its key file may be the damaged one: use the recovery key "
             "(then 'odbackup passwd' writes a new passphrase key file).",
    )


def add_key_file(backend: Backend, data: bytes) -> str:
    name = "keys/" + crypto.content_hash(data).hex()
    backend.write_atomic(name, [data])
    return name


# --- machine credentials ------------------------------------------------------------


def credentials_path(repo_id: str) -> str:
    return os.path.join(paths.config_dir(), "credentials", f"{repo_id}.json")


def enroll_machine(keys: Keys, location: str) -> str:
    """Store write-only credentials for this machine; returns the file path."""
    doc = {
        "kind": "odbackup machine credentials (write-only)",
        "created": _now(),
        "host": socket.gethostname(),
        "repository": location,
        **keys.write_only().to_json(),
    }
    if keys.data_private is not None:  # checks the retention policy's signature (policy.py)
        from .policy import public_key

        doc["policy_public"] = crypto.b64(public_key(keys.data_private))
    path = credentials_path(keys.repo_id)
    paths.write_private_file(path, json.dumps(doc, indent=1).encode())
    return path


def machine_policy_key(repo_id: str) -> bytes | None:
    """The key in this machine's credentials that checks the stored retention policy's signature
    (None for credentials enrolled before policies existed: enroll again)."""
    try:
        with open(credentials_path(repo_id), "rb") as f:
            value = json.loads(f.read()).get("policy_public")
    except FileNotFoundError as exc:
        raise NoCredentials() from exc
    return crypto.unb64(value) if value else None


def load_machine_credentials(repo_id: str) -> Keys:
    """This machine's write-only keys for the repository, or :class:`NoCredentials`."""
    try:
        with open(credentials_path(repo_id), "rb") as f:
            doc = json.loads(f.read())
    except FileNotFoundError as exc:
        raise NoCredentials() from exc
    doc.pop("data_private", None)  # never honoured from a credentials file
    doc.pop("family_recovery", None)
    return Keys.from_json(doc)
