"""The Supplemental screen (the dashboard's ``p``) and the setup's Supplemental step.

Pilot tests on real folders and repositories: the path is checked, the supplemental
repository is made related to the main one (the passphrase asked for in the app's
dialog), Save Defaults writes settings.toml as ``odbackup config set`` would and refuses
what it would refuse. SVG snapshots at 80x24 and 120x40 with fixed data.
"""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from textual.widgets import Checkbox, Input
from tuihelpers import PASSPHRASE, SIZE_LARGE, SIZE_SMALL, open_from_home, settle, text_of

from engine.events import AdminPasswordsChecked
from engine.opendental.supplemental import READ, OpenDentalSupplemental
from engine.places import DestinationCheck
from engine.repository.repo import Repository
from engine.settings import DatabaseSettings, Settings, load_settings
from engine.status import State
from engine.supplemental.alerts import SupplementalState
from engine.supplemental.settings import SupplementalSettings
from tui.app import OdbackupApp
from tui.screens import dashboard
from tui.screens import supplemental as screenmod
from tui.screens.dashboard import DashboardScreen
from tui.screens.modals import PassphraseScreen
from tui.screens.setup.draft import SetupDraft
from tui.screens.setup.supplemental import SupplementalStep
from tui.screens.supplemental import SupplementalScreen
from tui.widgets import fmt


async def open_supplemental(pilot) -> SupplementalScreen:
    return await open_from_home(pilot, "p", SupplementalScreen)


async def type_into(pilot, screen, widget_id: str, text: str) -> None:
    field = screen.query_one(f"#{widget_id}")
    field.value = ""
    field.focus()
    await pilot.press(*text)
    await pilot.pause()


def shown(screen, selector: str) -> str:
    return text_of(screen.query_one(selector))


async def test_make_the_repository_enable_and_save(saved, tmp_path):
    share = tmp_path / "nas" / "odbackup-supplemental"
    share.parent.mkdir()
    app = OdbackupApp(saved)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        screen = await open_supplemental(pilot)
        assert shown(screen, "#supp-last") == "never"
        assert "not read" in shown(screen, "#supp-od")  # a folders-only setup: no database to ask
        await type_into(pilot, screen, "supp-path", str(share))
        await pilot.press("enter")
        await settle(pilot)
        assert "Reachable, writable" in shown(screen, "#supp-path-check")
        assert "no repository there yet" in shown(screen, "#supp-path-check")

        screen.query_one("#make").press()
        await settle(pilot)
        assert isinstance(app.screen, PassphraseScreen)  # making it needs the passphrase
        await pilot.press(*PASSPHRASE, "enter")
        await settle(pilot)
        assert app.screen is screen
        made = shown(screen, "#supp-path-check")
        assert made.startswith(f"Made the supplemental repository at {share}") and "RK-" not in made
        assert made.endswith("the passphrase and the main recovery key open it (no new key to write down).")
        there, main = Repository.open(str(share)), Repository.open(saved.repository)
        assert there.related_to(main) and there.label == "Supplemental copy"
        there.unlock(PASSPHRASE)  # the main passphrase opens it

        screen.query_one("#supp-enabled").toggle()
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.problem_text == ""
        assert load_settings().supplemental == SupplementalSettings(enabled=True, path=str(share))
        assert load_settings().repository == saved.repository  # the rest kept
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)


async def test_wrong_values_are_refused_and_nothing_saved(saved, tmp_path):
    app = OdbackupApp(saved)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        screen = await open_supplemental(pilot)
        await type_into(pilot, screen, "supp-window", "10pm")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert screen.problem_text == "'10pm' is not a window: write it like 22:00-04:00"
        assert screen.query_one("#supp-problem").region.bottom <= 24  # seen at 80x24
        await type_into(pilot, screen, "supp-window", "20:00-04:00")
        screen.query_one("#supp-enabled").toggle()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert screen.problem_text.startswith("The nightly backup at 21:00 falls in the supplemental window")
        await type_into(pilot, screen, "supp-window", "22:00-04:00")
        await type_into(pilot, screen, "supp-path", saved.images_folder + "/copies")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert screen.problem_text == "The Backup Copy Network Path cannot be inside a folder being backed up."
        assert load_settings() == saved


async def test_make_without_a_path_or_a_passphrase_says_why(saved, tmp_path):
    app = OdbackupApp(saved)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        screen = await open_supplemental(pilot)
        screen.query_one("#make").press()
        await pilot.pause()
        assert screen.problem_text == "Type the Backup Copy Network Path first."
        await type_into(pilot, screen, "supp-path", str(tmp_path / "share"))
        screen.query_one("#make").press()
        await settle(pilot)
        await pilot.press("escape")  # the passphrase dialog cancelled
        await settle(pilot)
        assert screen.problem_text == "Making the supplemental repository needs the passphrase."
        assert not (tmp_path / "share").exists()


# --- snapshots ------------------------------------------------------------------------------------------

NOW = datetime(2025, 6, 30, 18, 5, tzinfo=UTC)
SHOWN = Settings(repository="/media/usb/odbackup", images_folder="/srv/OpenDentImages",
                 database=DatabaseSettings(name="opendental"),
                 supplemental=SupplementalSettings(enabled=True, path="/mnt/nas/odbackup-supplemental"))
STATE = SupplementalState(
    destination=None, last_copy=datetime(2025, 6, 29, 22, 14, tzinfo=UTC).isoformat(), last_snapshot="c" * 64,
    open_dental=OpenDentalSupplemental(READ, enabled=True, last_complete="2025-06-29 23:02:11",
                                       network_path=r"\\NAS\OpenDentalBackups"))
ADMINS = AdminPasswordsChecked("opendental", "checked", admins=2, without_password=("Admin",), auto_login="Admin",
                               schema="usergroupattach")
PLACE = DestinationCheck("/mnt/nas/odbackup-supplemental", True, True, True, 1_200_000_000_000,
                         2_000_000_000_000, 0)


@pytest.mark.parametrize("size", [SIZE_SMALL, SIZE_LARGE], ids=["80x24", "120x40"])
def test_snapshot(snap_compare, size, monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLORTERM", "truecolor")
    monkeypatch.setattr(fmt, "now", lambda: NOW)
    monkeypatch.setattr(dashboard, "load_status", lambda settings, secret=None: State(settings.repository))
    monkeypatch.setattr(screenmod, "gather", lambda settings, secret: (STATE, ADMINS))
    monkeypatch.setattr(screenmod, "check_destination", lambda path: PLACE)

    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)

    assert snap_compare(OdbackupApp(SHOWN), terminal_size=size, run_before=run_before)


# --- the setup step -------------------------------------------------------------------------------------


async def test_the_setup_step_left_off_skips_and_back_returns(tmp_path, enrolled):
    from tui.screens.setup.draft import SetupDraft
    from tui.screens.setup.finish import FinishStep
    from tui.screens.setup.supplemental import SupplementalStep

    draft = SetupDraft(repository=enrolled, database="opendental", images_folder=str(tmp_path / "OpenDentImages"))
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        app.push_screen(SupplementalStep(draft))
        await settle(pilot)
        step = app.screen
        await pilot.press("escape")  # Back
        await settle(pilot)
        assert app.screen is not step
        app.push_screen(step := SupplementalStep(draft))
        await settle(pilot)
        step.query_one("#supp-enabled").value = True
        step.query_one("#supp-path").value = str(tmp_path / "nas" / "supp")
        await pilot.press("ctrl+n")
        await settle(pilot)  # no passphrase typed in this setup: it is asked for; cancelled, nothing is made
        assert isinstance(app.screen, PassphraseScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is step
        assert step.problem_text.startswith("Making the supplemental repository needs the passphrase")
        assert not (tmp_path / "nas").exists()
        step.query_one("#supp-enabled").value = False
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, FinishStep)
        assert draft.supplemental is not None and not draft.supplemental.enabled
        assert "Supplemental copy" not in text_of(app.screen.query_one("#summary"))


@pytest.mark.parametrize("size", [SIZE_SMALL, SIZE_LARGE], ids=["80x24", "120x40"])
def test_setup_step_snapshot(snap_compare, size, monkeypatch):
    from tui.screens.setup.draft import SetupDraft
    from tui.screens.setup.supplemental import SupplementalStep

    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLORTERM", "truecolor")
    draft = SetupDraft(repository="/media/usb/odbackup", database="opendental")

    async def run_before(pilot) -> None:
        await settle(pilot)
        pilot.app.push_screen(SupplementalStep(draft))
        await settle(pilot)

    assert snap_compare(OdbackupApp(None), terminal_size=size, run_before=run_before)


def test_the_backup_s_preflight_screen_says_the_admin_finding():
    from engine import events as ev
    from tui.screens.preflight import PreflightInfo, describe

    found = ev.DatabasePreflight(database="opendental", server="127.0.0.1:3306", tables=3, non_transactional=("a",),
                                 transactional=2, data_bytes=1000, lock_mode="consistent", connections=(),
                                 long_queries=(), estimated_lock_seconds=1.0, sees_all_connections=True)
    said = describe(PreflightInfo(found, 10.0, admin_passwords=ADMINS), "consistent").plain
    assert ("1 Open Dental admin user without a password: 'Admin'; Open Dental opens without a login, as 'Admin': "
            "give each admin user a password in Open Dental") in said
    fine = AdminPasswordsChecked("opendental", "checked", admins=2)
    assert "all 2 Open Dental admin user(s) have a password" in describe(PreflightInfo(found, 10.0,
                                                                                      admin_passwords=fine),
                                                                        "consistent").plain


async def test_the_setup_step_beside_an_existing_repository_asks_for_the_passphrase_to_make_it(folder_settings,
                                                                                               tmp_path):
    """Setup run again (the repository was there: no passphrase typed in this setup): a path that
    cannot hold the copy says why at once; a new one asks for the passphrase, then is made, and the
    main recovery key opens it (nothing to write down)."""
    draft = SetupDraft.from_settings(folder_settings)
    assert draft.secret is None
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("someone's files")
    share = tmp_path / "share" / "odbackup-supplemental"
    share.parent.mkdir()
    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        app.push_screen(SupplementalStep(draft))
        await settle(pilot)
        step = app.screen
        step.query_one("#supp-enabled", Checkbox).value = True
        step.query_one("#supp-path", Input).value = str(busy)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.screen is step and "already holds other files" in step.problem_text, step.problem_text
        assert sorted(p.name for p in busy.iterdir()) == ["notes.txt"]
        step.query_one("#supp-path", Input).value = str(share)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, PassphraseScreen)
        await pilot.press(*PASSPHRASE, "enter")
        await settle(pilot)
        assert app.screen is step
        assert "no new key to write down" in shown(step, "#supp-step-result"), shown(step, "#supp-step-result")
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.screen is not step
    made = Repository.open(str(share))
    assert made.related_to(Repository.open(folder_settings.repository))
    made.unlock(PASSPHRASE)
