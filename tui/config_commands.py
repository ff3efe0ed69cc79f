"""``odbackup config``: the settings the setup saves, read and set without the app.

The keys, their checks and the saving are the engine's (:mod:`engine.config_keys`); this
module parses nothing but the command line and prints.
"""
from __future__ import annotations

import argparse
import os
import textwrap

from engine import config_keys as ck
from engine.errors import UsageError
from engine.settings import Settings, load_settings, settings_path

from .printers import JsonPrinter, TextPrinter

Printer = JsonPrinter | TextPrinter
EXIT_OK, EXIT_NOT_READY = 0, 1


def path(args: argparse.Namespace, out: Printer) -> int:
    where = settings_path()
    out.summary({"path": where, "saved": os.path.exists(where)})
    out.result(where)
    return EXIT_OK


def show(args: argparse.Namespace, out: Printer) -> int:
    saved = load_settings()
    settings = saved or Settings()
    problems = settings.problems()
    out.summary({"path": settings_path(), "saved": saved is not None, "settings": ck.as_dict(settings),
                 "problems": problems})
    if isinstance(out, TextPrinter):
        for line in _toml_view(settings, saved is not None, problems):
            out.result(line)
    return EXIT_OK


def get(args: argparse.Namespace, out: Printer) -> int:
    settings = load_settings() or Settings()
    if args.key.strip().lower() == ck.SWITCH:
        value: object = "off" if settings.database is None else "on"
    else:
        value = ck.value_of(settings, ck.key(args.key))
    out.summary({"key": args.key, "value": list(value) if isinstance(value, tuple) else value})
    for line in value if isinstance(value, tuple) else ("" if value is None else str(value),):
        out.result(str(line))
    return EXIT_OK


def set_(args: argparse.Namespace, out: Printer) -> int:
    changes = args.add or args.remove
    if changes and args.values:
        raise UsageError("Give the values either after the key (the new list) or after --add/--remove, not both.")
    mode = "add" if args.add else "remove" if args.remove else "set"
    return _said(ck.set_value(args.key, changes or args.values, mode), out)


def unset(args: argparse.Namespace, out: Printer) -> int:
    return _said(ck.unset_value(args.key), out)


def check(args: argparse.Namespace, out: Printer) -> int:
    found = ck.readiness(load_settings())
    out.summary({"path": settings_path(), "ready": not found, "problems": found})
    if not found:
        out.result("The settings are complete: a backup can run from them.")
    for problem in found:
        out.result(f"- {problem}")
    return EXIT_OK if not found else EXIT_NOT_READY


def _said(change: ck.Change, out: Printer) -> int:
    """Say what was saved, and what is still to set before a backup can run (a warning)."""
    value = change.value
    out.summary({"key": change.key, "value": list(value) if isinstance(value, tuple) else value,
                 "path": settings_path(), "problems": list(change.left)})
    out.result(f"{change.key} = {value if change.key == ck.SWITCH else ck.toml_value(value)}")
    if change.left:
        out.info("Saved. Still to set before a backup can run: " + " ".join(change.left))
    return EXIT_OK


def _comment(text: str) -> list[str]:
    return textwrap.wrap(text, 78, initial_indent="# ", subsequent_indent="# ") if text else []


def _toml_view(settings: Settings, saved: bool, problems: list[str]) -> list[str]:
    """settings.toml as it is (or would be), each key under its meaning."""
    lines = [f"# {settings_path()}" + ("" if saved else " (not saved yet: the defaults)")]
    table = None
    for k in ck.all_keys().values():
        section = k.name.rpartition(".")[0]
        if section != table:
            table = section
            lines += ["", f"[{section}]"] if section else []
            if section == "database" and settings.database is None:
                lines += _comment("Off: no database is backed up (a folders-only setup). "
                                  "'odbackup config set database on' (or any database key) turns it on.")
        if k.table == "database" and settings.database is None:
            continue
        lines += _comment(k.meaning) + [f"{k.name.rpartition('.')[2]} = {ck.toml_value(ck.value_of(settings, k))}"]
    if problems:
        lines += ["", "# Still to set before a backup can run:"] + [f"#   - {p}" for p in problems]
    return lines
