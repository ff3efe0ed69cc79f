"""The dashboard's offsite copy: its last complete copy, its latest run, and the upload still to do
(what the bucket lacks), shown only when offsite copies are on; its alerts with the app's hints.
SVG snapshots at 80x24 and 120x40 with the fixed data of test_snapshots.py."""
from __future__ import annotations

from dataclasses import replace

import pytest
from test_snapshots import NOW, SETTINGS, SIZES, STATUS, at, fixed_world  # noqa: F401  (fixed_world: autouse)
from tuihelpers import lines_of, settle

from engine.offsite.alerts import OffsiteState
from engine.offsite.settings import OffsiteSettings
from engine.runlog import RunRecord
from engine.status import alerts
from tui.app import OdbackupApp
from tui.screens import dashboard

LOCATION = "s3:https://s3.us-west-004.backblazeb2.com/smith-dental/odbackup"
OFFSITE_ON = replace(SETTINGS, offsite=OffsiteSettings(enabled=True, location=LOCATION, limit_upload="20Mbit"))
FIRST_NIGHT = OffsiteState(last_run=at(6, day=30), to_send=150 * 2**30, snapshots_missing=3)
CAUGHT_UP = OffsiteState(last_copy=at(2, day=30), last_run=at(2, day=30), to_send=0)


def offsite_run(result: str, message: str) -> RunRecord:
    return RunRecord("offsite", "schedule", at(23, day=29), at(6, day=30), result, message,
                     {"ok": 0, "failed": 1}.get(result, 3))


STOPPED = offsite_run("incomplete", "Offsite copy: sent 50 GiB. Incomplete: the upload window ended at 06:30 with "
                      "150 GiB still to send; the next night's run continues from there.")


@pytest.mark.parametrize("settings, state, runs, lines", [
    (SETTINGS, CAUGHT_UP, (), []),
    (OFFSITE_ON, FIRST_NIGHT, (STOPPED,), ["No complete copy yet; last run incomplete 12 hours ago",
                                           "150.0 GiB still to send (3 snapshot(s)), about 18 hours "
                                           "at the upload limit"]),
    (OFFSITE_ON, CAUGHT_UP, (offsite_run("ok", "Copied."),), ["Copied 16 hours ago; last run ok 12 hours ago",
                                                              "Nothing left to send"]),
    (OFFSITE_ON, replace(CAUGHT_UP, to_send=None, problem="the online storage does not answer"), (),
     ["Copied 16 hours ago", "Cannot read it: the online storage does not answer"]),
    (OFFSITE_ON, replace(CAUGHT_UP, to_send=None, main_problem="the USB drive is not there"), (),
     ["Copied 16 hours ago", "Still to send: unknown (the main repository cannot be read)"]),
], ids=["off: no panel", "first copy spanning nights", "caught up", "bucket unreachable", "main unreadable"])
def test_the_offsite_copy_and_the_upload_still_to_do(settings, state, runs, lines):
    status = replace(STATUS, offsite=state, runs=runs)
    assert [str(x) for x in dashboard.offsite_lines(settings, status, NOW)] == lines


def test_alerts_a_stale_offsite_copy_but_not_a_run_its_window_stopped():
    status = replace(STATUS, offsite=FIRST_NIGHT, runs=(STOPPED,))
    found = {a.kind: a for a in alerts(OFFSITE_ON, status, NOW)}
    assert "run_incomplete" not in found
    assert found["offsite_stale"].message == ("No offsite copy completed in the last 3 days (there has been none "
                                              "yet; 150.0 GiB still to send)")
    failed = replace(status, runs=(offsite_run("failed", "Storage keys refused: the keys were refused."),))
    assert {a.kind: a.level for a in alerts(OFFSITE_ON, failed, NOW)}["run_failed"] == "critical"
    fresh = replace(STATUS, offsite=CAUGHT_UP)
    assert not [a for a in alerts(OFFSITE_ON, fresh, NOW) if a.kind.startswith("offsite")]
    no_place = replace(OFFSITE_ON, offsite=OffsiteSettings(enabled=True))
    assert [a.kind for a in alerts(no_place, fresh, NOW) if a.kind.startswith("offsite")] == ["offsite_no_location"]


async def test_the_panel_is_shown_only_when_offsite_copies_are_on(monkeypatch):
    status = replace(STATUS, offsite=FIRST_NIGHT, runs=(STOPPED,))
    monkeypatch.setattr(dashboard, "load_status", lambda settings, secret=None: status)
    for settings, shown in ((SETTINGS, False), (OFFSITE_ON, True)):
        app = OdbackupApp(settings)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            assert app.screen.query_one("#offsite-copy").display is shown
            assert lines_of(app.screen, "#offsite-copy")[:1] == (
                ["No complete copy yet; last run incomplete 12 hours ago"] if shown else [])


@SIZES
def test_dashboard_with_the_offsite_copy(snap_compare, size, monkeypatch):
    status = replace(STATUS, offsite=FIRST_NIGHT, runs=(STOPPED,))
    monkeypatch.setattr(dashboard, "load_status", lambda settings, secret=None: status)
    assert snap_compare(OdbackupApp(OFFSITE_ON), terminal_size=size, run_before=settle)
