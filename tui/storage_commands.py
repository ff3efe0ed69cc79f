"""``odbackup storage-keys LOCATION``: save (or forget) this machine's keys for online storage,
and try them. The keys come from ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` or from prompts
on the terminal, never from an argument (other users can read those)."""
from __future__ import annotations

import argparse
import getpass
import os
import sys

from engine import storagekeys
from engine.errors import UsageError
from engine.repository.s3 import S3Location
from engine.repository.s3probe import probe

from .printers import JsonPrinter, TextPrinter

EXIT_OK = 0


def _asked_keys() -> storagekeys.StorageKeys:
    env = storagekeys.keys_for("", environ={k: v for k, v in os.environ.items() if k.startswith("AWS_")})
    if env is not None:
        return env
    if not (sys.stdin is not None and sys.stdin.isatty()):
        raise UsageError("No keys: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run on a terminal to be asked.")
    key_id = input("Access key ID: ").strip()
    secret = getpass.getpass("Secret access key: ").strip()
    if not key_id or not secret:
        raise UsageError("Both the access key ID and the secret access key are needed. Nothing was saved.")
    return storagekeys.StorageKeys(key_id, secret)


def storage_keys(args: argparse.Namespace, out: JsonPrinter | TextPrinter) -> int:
    where = S3Location.parse(args.location)
    if args.forget:
        gone = storagekeys.forget_keys(where.site)
        out.result(f"Forgot the keys saved for {where.site}." if gone else f"No keys were saved for {where.site}.")
        return EXIT_OK
    keys = _asked_keys()
    found = probe(where.text, keys)
    if not found.ok:
        out.result(f"Not saved: {found.message}")
        return 4 if "keys" in found.message else 1
    storagekeys.save_keys(where.site, keys)
    out.result(f"{found.message} Saved the keys for {where.site} in {storagekeys.keys_path()} (only you can read it).")
    return EXIT_OK
