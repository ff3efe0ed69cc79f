"""Every engine event is handled by every consumer, or explicitly ignored; the JSON wire format
is what docs/CLI.md says.

The event classes are found by walking ``engine.events`` (every subclass of ``Event``), so an
event added later is covered without touching this file: it fails here until the text printer
has words for it (or lists it in ``TextPrinter.SILENT``), a screen of the app shows it (or
``tui.messages.NOT_IN_APP`` lists it), and docs/CLI.md's table names its fields.
"""
from __future__ import annotations

import importlib
import io
import json
import pkgutil
import re
import types
import typing
import uuid
from dataclasses import fields
from pathlib import Path

import pytest
from cli_helpers import json_lines, make_tree, ok

from engine import events as ev
from tui import messages
from tui.printers import JsonPrinter, TextPrinter

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ev.event_classes()


def _names(classes) -> list[str]:
    return sorted(c.__name__ for c in classes)


def _job_screens() -> list[type]:
    """Every screen of the app that runs engine work (every module of tui.screens imported)."""
    import tui.screens
    from tui.screens.common import JobScreen

    for module in pkgutil.walk_packages(tui.screens.__path__, "tui.screens."):
        importlib.import_module(module.name)

    def walk(cls: type) -> typing.Iterator[type]:
        sub: type
        for sub in cls.__subclasses__():
            yield sub
            yield from walk(sub)

    return sorted(set(walk(JobScreen)), key=lambda c: c.__qualname__)


def _shown_by() -> dict[type[ev.Event], list[str]]:
    """Where app events go: event class -> the screens that show it."""
    where: dict[type[ev.Event], list[str]] = {}
    for screen in _job_screens():
        for cls in ev.handlers(screen):
            where.setdefault(cls, []).append(screen.__qualname__)
    return where


def test_the_walk_finds_every_event_class():
    """Known classes from each part of the engine, and nothing that is not an event."""
    assert {ev.BackupProgress, ev.LockStatus, ev.RestoreResumed, ev.PruneFinished, ev.DemoProgress} <= set(EVENTS)
    assert all(issubclass(c, ev.Event) and c is not ev.Event for c in EVENTS)
    assert [ev.event_name(c) for c in (ev.BackupProgress, ev.LockWatchLost)] == ["backup_progress",
                                                                                  "lock_watch_lost"]


def test_text_printer_has_words_for_every_event_or_declares_it_silent():
    missing = [c for c in EVENTS if ev.handler_for(TextPrinter, c) is None and c not in TextPrinter.SILENT]
    both = [c for c in EVENTS if ev.handler_for(TextPrinter, c) is not None and c in TextPrinter.SILENT]
    assert not missing, (f"the text printer has no words for {_names(missing)}: give tui/printers.py's TextPrinter "
                         "a method `def on_NAME(self, e: ev.CLASS)`, or add the class to TextPrinter.SILENT")
    assert not both, f"TextPrinter.SILENT lists {_names(both)}, which the text printer has words for"


def test_json_printer_writes_every_event():
    missing = [c for c in EVENTS if ev.handler_for(JsonPrinter, c) is None]
    assert not missing, f"the JSON printer does not write {_names(missing)}"


def test_every_event_is_shown_by_a_screen_of_the_app_or_declared_not_shown():
    shown = _shown_by()
    missing = [c for c in EVENTS if c not in shown and c not in messages.NOT_IN_APP]
    both = {c.__name__: shown[c] for c in EVENTS if c in shown and c in messages.NOT_IN_APP}
    assert not missing, (f"no screen of the app shows {_names(missing)}: give the screen whose job sends it a "
                         "method `def show_NAME(self, e: ev.CLASS)`, or add the class to tui/messages.py's NOT_IN_APP")
    assert not both, f"tui/messages.py's NOT_IN_APP lists events that screens show: {both}"
    # where the app's events go (the documented routing; a change here is a change of the app)
    assert shown[ev.LockStatus] == ["BackupScreen"] and shown[ev.DemoProgress] == ["DemoStep"]
    assert shown[ev.TableRestored] == ["RestoreScreen", "SupplementalVerifyScreen", "VerifyScreen"]


def test_a_method_named_after_an_event_is_its_handler():
    """``on_lock_status`` / ``show_lock_status`` handle ``LockStatus`` only when annotated so: a
    handler written in the naming style but not (or wrongly) annotated would be silently skipped."""
    by_name = {ev.event_name(c): c for c in EVENTS}
    wrong = []
    for owner in [TextPrinter, *_job_screens()]:
        table = ev.handlers(owner)
        for klass in owner.__mro__:
            for attr, func in vars(klass).items():
                match = re.fullmatch(r"(?:on|show)_(\w+)", attr)
                cls = by_name.get(match.group(1)) if match else None
                if cls is not None and isinstance(func, types.FunctionType) and table.get(cls) is not func:
                    wrong.append(f"{klass.__qualname__}.{attr}")
    assert not wrong, f"annotate the first parameter with its event class (e: ev.CLASS): {sorted(set(wrong))}"


def test_screens_dispatch_engine_events_only_through_job_screen():
    """Textual calls every ``on_engine_event`` along the class chain: a screen with its own
    would see each event twice (once there, once through JobScreen's dispatch by class)."""
    from tui.screens.common import JobScreen

    own = [s.__qualname__ for s in _job_screens() if "on_engine_event" in vars(s)]
    assert "on_engine_event" in vars(JobScreen)
    assert not own, f"these screens handle EngineEvent themselves; use methods annotated by event class: {own}"


def test_handlers_are_built_from_annotations_once_per_class():
    class Consumer:
        def __init__(self) -> None:
            self.got: list[ev.Event] = []

        def seen(self, e: ev.FileSkipped | ev.TableSkipped) -> None:
            self.got.append(e)

        def _helper(self, e: ev.FileSkipped) -> None:  # private: never a handler
            raise AssertionError

        def other(self, text: str) -> None:  # not an event
            raise AssertionError

    consumer = Consumer()
    skipped = ev.FileSkipped("a", "gone")
    assert ev.dispatch(consumer, skipped) is True and consumer.got == [skipped]
    assert ev.dispatch(consumer, ev.ScanFinished(1, 2)) is False
    assert ev.handlers(Consumer) is ev.handlers(Consumer)

    class Twice:
        def one(self, e: ev.FileSkipped) -> None: ...

        def two(self, e: ev.FileSkipped) -> None: ...

    with pytest.raises(TypeError, match="both one and two handle FileSkipped"):
        ev.handlers(Twice)


# --- the wire format (docs/CLI.md, "JSON lines: the wire format") --------------------------------


def _documented() -> dict[str, list[str]]:
    text = (ROOT / "docs" / "CLI.md").read_text(encoding="utf-8")
    table = text.split("<!-- events table: begin -->")[1].split("<!-- events table: end -->")[0]
    rows = [line.split("|")[1:3] for line in table.strip().splitlines()[2:]]
    return {name.strip().strip("`"): re.findall(r"`(\w+)`", names) for name, names in rows}


def _table() -> str:
    return "\n".join(f"| `{ev.event_name(c)}` | " + ", ".join(f"`{f.name}`" for f in fields(c)) + " |"
                     for c in EVENTS)


def test_docs_event_table_matches_the_events():
    expected = {ev.event_name(c): [f.name for f in fields(c)] for c in EVENTS}
    assert _documented() == expected, f"docs/CLI.md's events table is out of date; it should read:\n{_table()}"


def test_json_line_of_an_event_follows_the_envelope():
    out = io.StringIO()
    JsonPrinter(out)(ev.BackupProgress(3, 4096, None, None, 100, "Zoë/a.jpg", 1.5))
    JsonPrinter(out)(ev.BackupStarted("/repo", ("/a", "/b")))
    line, started = out.getvalue().splitlines()
    assert line.isascii()
    assert json.loads(line) == {"event": "backup_progress", "files_done": 3, "bytes_done": 4096, "files_total": None,
                                "bytes_total": None, "bytes_stored": 100, "current": "Zoë/a.jpg", "elapsed": 1.5}
    assert list(json.loads(line)) == ["event", *_documented()["backup_progress"]]
    assert json.loads(started)["sources"] == ["/a", "/b"]


def _check_lines(lines: list[dict], expected_events: set[str]) -> None:
    documented = _documented()
    assert lines[-1]["event"] == "summary" and all(d["event"] != "summary" for d in lines[:-1])
    for doc in lines[:-1]:
        assert doc["event"] in documented, doc
        assert list(doc) == ["event", *documented[doc["event"]]], doc
    assert expected_events <= {d["event"] for d in lines}


def test_backup_and_restore_json_lines_are_as_documented(tmp_path, repo):
    """Real runs: every line of ``backup --json`` (folders and a database) and ``restore --json``
    is a documented event with exactly its documented fields, then the summary."""
    source = make_tree(tmp_path / "Practice")
    db = f"odb_events_{uuid.uuid4().hex[:8]}"
    conn = _server()
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{db}`")
            cur.execute(f"CREATE TABLE `{db}`.patient (PatNum INT PRIMARY KEY, LName VARCHAR(40)) ENGINE=MyISAM")
            cur.executemany(f"INSERT INTO `{db}`.patient VALUES (%s, %s)", [(i, f"N{i}") for i in range(1, 50)])
        backup = json_lines(ok(repo.run(["backup", "--repo", repo.path, "--path", source, "--db",
                                         f"mysql://root@127.0.0.1:3306/{db}", "--json"])).stdout)
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{db}`")
        conn.close()
    _check_lines(backup, {"backup_started", "database_preflight", "lock_requested", "lock_taken", "table_dumped",
                          "lock_released", "database_dumped", "snapshot_saved"})
    started = next(d for d in backup if d["event"] == "backup_started")
    assert isinstance(started["sources"], list) and str(source) in started["sources"]
    assert any(d["event"] == "database_preflight" and d["estimated_lock_seconds"] is None for d in backup)

    restore = json_lines(ok(repo.run(["restore", "--repo", repo.path, "latest", "--to", tmp_path / "back",
                                      "--json"])).stdout)
    _check_lines(restore, {"restore_started", "restore_finished"})
    assert restore[-1]["files"] == next(d for d in restore if d["event"] == "restore_finished")["files"]


def _server():
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "database"))
    from dbhelpers import server_conn

    return server_conn()
