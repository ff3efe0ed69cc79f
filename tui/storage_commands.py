"""``odbackup storage-keys LOCATION``: save (or forget) this machine's keys for online storage,
and try them. The keys come from ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` or from prompts
on the terminal, never from an argument (other users can read those)."""
from __future__ import annotations

import argparse
import getpass
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from engine import storagekeys
from engine.errors import Cancelled, OdbackupError, UsageError
from engine.repository.storage import Backend
from engine.repository.uplink import Uplink, parse_rate, window_end

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
    from engine.repository.s3 import S3Location  # (not loaded by the other commands)
    from engine.repository.s3probe import probe

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


# --- the uplink: --limit-upload and --stop-at (copy and backup) ------------------------------------


class WindowClosed(OdbackupError):
    """The upload window ended: the run stopped cleanly."""

    title = "Upload window ended"
    exit_code = 3
    hint = ("The next run continues where this one stopped (a copy indexes each pack as it is sent; a "
            "backup, every 8 packs or 30 seconds).")


def add_uplink_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit-upload", metavar="RATE",
                   help="upload at most this fast to online storage, on average: 20Mbit, 2.5MB (per second)")
    p.add_argument("--stop-at", metavar="HH:MM",
                   help="stop cleanly at this time (the office opens); the next run continues")


@contextmanager
def uplink_for(args: argparse.Namespace, backend: Backend) -> Iterator[threading.Event]:
    """The run's cancel token, set when ``--stop-at`` comes; uploads to ``backend`` paced by
    ``--limit-upload``. A run stopped by the window ends as :class:`WindowClosed` (exit 3)."""
    cancel = threading.Event()
    limit = parse_rate(args.limit_upload) if getattr(args, "limit_upload", None) else None
    stop_at = getattr(args, "stop_at", None)
    until = window_end(stop_at, datetime.now().astimezone()) if stop_at else None
    uplink = Uplink(cancel, limit=limit, until=until)
    uplink.attach(backend)
    try:
        yield cancel
    except Cancelled as exc:
        if not uplink.window_closed:
            raise
        raise WindowClosed(f"Stopped at {stop_at}, the end of the upload window: {exc}") from None
    finally:
        uplink.close()
