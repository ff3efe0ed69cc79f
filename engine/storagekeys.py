"""The keys of online storage (S3-compatible) saved for this machine.

An S3 location (``s3:https://HOST/BUCKET/PREFIX``) needs an access key ID and a
secret access key. They come from, in this order:

1. ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY`` in the environment (both set);
2. the keys saved for this machine with ``odbackup storage-keys`` (or the app's setup)
   for that server and bucket, in the owner-only file ``storage-keys.json`` in the
   config folder (beside the machine's write-only repository credentials).

They are never in settings.toml, a command line, a log or an error message: the file is
the only place they are written, and only its owner can read it.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from . import paths

ENV_KEY_ID = "AWS_ACCESS_KEY_ID"
ENV_SECRET = "AWS_SECRET_ACCESS_KEY"
FILE = "storage-keys.json"


@dataclass(frozen=True)
class StorageKeys:
    """An access key ID and its secret (``repr`` hides the secret)."""

    key_id: str
    secret: str

    def __repr__(self) -> str:
        return f"StorageKeys(key_id={self.key_id!r}, secret=<hidden>)"


def keys_path() -> str:
    return os.path.join(paths.config_dir(), FILE)


def _saved() -> dict[str, dict[str, str]]:
    try:
        with open(keys_path(), "rb") as f:
            doc = json.load(f)
    except FileNotFoundError:
        return {}
    return doc if isinstance(doc, dict) else {}


def save_keys(site: str, keys: StorageKeys) -> None:
    """Save ``keys`` for ``site`` (``ENDPOINT/BUCKET``) in the owner-only file."""
    doc = _saved()
    doc[site] = {"key_id": keys.key_id, "secret": keys.secret}
    paths.write_private_file(keys_path(), json.dumps(doc, indent=1).encode())


def forget_keys(site: str) -> bool:
    """Remove the keys saved for ``site``; False when there were none."""
    doc = _saved()
    if doc.pop(site, None) is None:
        return False
    paths.write_private_file(keys_path(), json.dumps(doc, indent=1).encode())
    return True


def keys_for(site: str, environ: Mapping[str, str] | None = None) -> StorageKeys | None:
    """The keys to use for ``site``: the environment's, else the saved ones (module docstring)."""
    env = os.environ if environ is None else environ
    if env.get(ENV_KEY_ID) and env.get(ENV_SECRET):
        return StorageKeys(env[ENV_KEY_ID], env[ENV_SECRET])
    entry = _saved().get(site)
    if isinstance(entry, dict) and entry.get("key_id") and entry.get("secret"):
        return StorageKeys(str(entry["key_id"]), str(entry["secret"]))
    return None
