"""The Supplemental screen's Copy now and Verify, on real folders and repositories.

Copy now runs the supplemental job as ``odbackup run supplemental --force`` (outside its
window here), once at a time, its run recorded and its words shown; Verify opens the verify
flow on the supplemental repository and its verification is stored there.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta

import pytest
from tuihelpers import PASSPHRASE, SIZE_SMALL, lines_of, open_from_home, settle, text_of

from engine import jobs, runlog
from engine.joblock import JobLock
from engine.jobsettings import ScheduleSettings
from engine.repository.repo import Repository
from engine.settings import Settings, save_settings
from engine.supplemental import run as supplemental_run
from engine.supplemental.place import prepare
from engine.supplemental.settings import SupplementalSettings
from tui.app import OdbackupApp
from tui.screens.dashboard import DashboardScreen
from tui.screens.modals import PassphraseScreen
from tui.screens.supplemental import SupplementalScreen, SupplementalVerifyScreen
from tui.widgets.verdict import Verdict


def window_not_now() -> str:
    later = datetime.now() + timedelta(hours=3)
    return f"{later:%H:%M}-{later + timedelta(hours=1):%H:%M}"


@pytest.fixture
def supp_on(folder_settings, tmp_path) -> Settings:
    """The images folder into the enrolled repository, and the supplemental repository (images
    too) at the "network path", its window not now; the nightly backup off so nothing waits."""
    share = tmp_path / "nas" / "odbackup-supplemental"
    share.parent.mkdir()
    prepare(str(share), folder_settings.repository, PASSPHRASE)
    settings = Settings(repository=folder_settings.repository, images_folder=folder_settings.images_folder,
                        schedule=ScheduleSettings(nightly="off"),
                        supplemental=SupplementalSettings(enabled=True, path=str(share), window=window_not_now(),
                                                          images=True))
    assert settings.problems() == []
    save_settings(settings)
    return settings


async def open_supplemental(pilot) -> SupplementalScreen:
    return await open_from_home(pilot, "p", SupplementalScreen)


async def test_copy_now_runs_outside_the_window_once_and_says_how_it_ended(supp_on, monkeypatch):
    monkeypatch.setattr(supplemental_run, "POLL", 0.05)
    nightly = JobLock(jobs.lock_path("backup"), "backup").acquire()  # a nightly backup runs: the copy waits
    app = OdbackupApp(supp_on)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        screen = await open_supplemental(pilot)
        assert text_of(screen.query_one("#supp-last")) == "never"
        screen.query_one("#copy").focus()
        await pilot.press("enter")  # the button
        await pilot.pause(0.3)
        assert screen.job_running("copy") and app.busy == "a supplemental copy"
        assert text_of(screen.query_one("#supp-run")) == "Starting the supplemental copy..."
        await pilot.press("ctrl+o")  # a second Copy now while the first runs: refused
        await pilot.pause()
        assert [n.message for n in app._notifications] == ["A supplemental copy is already running."]
        nightly.release()
        await settle(pilot)
        said = text_of(screen.query_one("#supp-run"))
        assert said.startswith("Copied (") and f"Supplemental copy at {supp_on.supplemental.path}: Saved " in said
        assert app.busy is None
        assert text_of(screen.query_one("#supp-last")) != "never"  # read again after the copy
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)  # the home screen's line says it too
        assert lines_of(app.screen, "#supplemental-copy") == ["Copied just now; last run ok"]
    runs = runlog.history("supplemental")
    assert [(r.result, r.trigger) for r in runs] == [("ok", "manual")]
    there = Repository.open(supp_on.supplemental.path)
    there.unlock(PASSPHRASE)
    [snap] = there.snapshots()
    assert snap.snapshot_id == runs[0].snapshot_id


async def test_copy_now_with_copies_off_says_so_in_plain_words(supp_on):
    off = Settings(repository=supp_on.repository, images_folder=supp_on.images_folder,
                   schedule=supp_on.schedule, supplemental=SupplementalSettings(path=supp_on.supplemental.path))
    save_settings(off)
    app = OdbackupApp(off)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        screen = await open_supplemental(pilot)
        await pilot.press("ctrl+o")
        await settle(pilot)
        said = text_of(screen.query_one("#supp-run"))
        assert said.startswith("The copy skipped: ") and "off" in said, said
    assert os.listdir(os.path.join(supp_on.supplemental.path, "snapshots")) == []


async def test_copy_now_and_verify_without_a_path_say_why(folder_settings):
    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        screen = await open_supplemental(pilot)
        for key in ("ctrl+o", "ctrl+v"):
            await pilot.press(key)
            await settle(pilot)
            assert screen.problem_text == "Type the Backup Copy Network Path and Save Defaults first."
            assert app.screen is screen and not screen.job_running("copy")


async def test_verify_opens_the_verify_flow_on_the_supplemental_repository(supp_on):
    app = OdbackupApp(supp_on)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        screen = await open_supplemental(pilot)
        await pilot.press("ctrl+o")
        await settle(pilot)
        copied = runlog.last_run("supplemental")
        assert copied is not None and copied.result == "ok"
        await pilot.press("ctrl+v")
        await settle(pilot)
        assert isinstance(app.screen, PassphraseScreen)  # its contents need the passphrase
        await pilot.press(*PASSPHRASE, "enter")
        await settle(pilot)
        verify = app.screen
        assert isinstance(verify, SupplementalVerifyScreen)
        assert verify.repository_location() == supp_on.supplemental.path
        assert verify.state == "ready" and verify.chosen().snapshot_id == copied.snapshot_id
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert verify.state == "done" and verify.query_one(Verdict).ok is True
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
    from engine.credentials import Sources
    from engine.supplemental.alerts import gather_copy

    state = gather_copy(supp_on, Sources.here())
    assert state.verified_ok is True and state.verified_at is not None  # kept in the supplemental repository
