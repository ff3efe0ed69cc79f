"""The guided setup: every step validates before going on, nothing is saved until the end,
no secret lands in the settings file."""
from __future__ import annotations

import os

from textual.widgets import DataTable, Input
from tuihelpers import PASSPHRASE, SIZE_SMALL, settle, text_of

from engine.repository import keys as keymod
from engine.repository.repo import Repository
from engine.settings import load_settings, settings_path
from tui.app import OdbackupApp
from tui.screens.dashboard import DashboardScreen
from tui.screens.setup.database import DatabaseStep
from tui.screens.setup.demo import DemoStep
from tui.screens.setup.destination import DestinationStep
from tui.screens.setup.encryption import EncryptionStep, passphrase_advice
from tui.screens.setup.finish import FinishStep
from tui.screens.setup.folders import FoldersStep
from tui.screens.setup.recovery import RecoveryStep
from tui.screens.setup.server import ServerStep
from tui.screens.setup.welcome import WelcomeScreen

NEW_PASSPHRASE = "maple kettle orbit seven"


def problem(screen) -> str:
    return screen.problem_text


async def type_into(pilot, selector: str, text: str) -> None:
    """Fill a field (as pasting would: typing long paths key by key only slows the tests)."""
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    field.value = text
    await pilot.pause()


async def next_step(pilot) -> None:
    await pilot.press("ctrl+n")
    await settle(pilot)


async def test_first_run_opens_the_setup_and_saves_nothing_yet():
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, WelcomeScreen)
        assert "Try it first on a demo practice" in text_of(app.screen.query_one("#intro"))
        await next_step(pilot)
        assert isinstance(app.screen, ServerStep)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)
    assert not os.path.exists(settings_path())


async def test_server_step_checks_the_fields_and_tests_in_plain_words():
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await next_step(pilot)
        screen = app.screen
        await type_into(pilot, "#port", "")
        await pilot.press("ctrl+t")
        assert problem(screen) == "The port is a number between 1 and 65535 (usually 3306)."
        await type_into(pilot, "#port", "1")
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert text_of(screen.query_one("#test-result")) == "Server unreachable"
        assert "does not answer" in problem(screen) and "Check that MySQL/MariaDB is running" in problem(screen)
        await next_step(pilot)
        assert isinstance(app.screen, ServerStep)  # not validated: no going on
        await type_into(pilot, "#port", "3306")
        await type_into(pilot, "#user", "nobody_odbt")
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert "refused user 'nobody_odbt'" in problem(screen)
        await type_into(pilot, "#user", "root")
        await next_step(pilot)
        assert text_of(screen.query_one("#test-result")).startswith("Connected: ")
        assert isinstance(app.screen, DatabaseStep)


async def test_the_whole_setup_creates_the_repository_and_saves(small_db, images, tmp_path):
    extra = tmp_path / "OfficeDocs"
    extra.mkdir()
    (extra / "letter.txt").write_text("hello")
    destination = str(tmp_path / "usb" / "odbackup")
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await next_step(pilot)
        await next_step(pilot)
        step = app.screen
        assert isinstance(step, DatabaseStep)
        table = step.query_one(DataTable)
        table.move_cursor(row=[d.name for d in step.databases].index(small_db))
        await pilot.pause()
        mix = text_of(step.query_one("#engine-mix"))
        assert "2 MyISAM tables" in mix and "during a consistent backup, the office's changes wait" in mix
        assert "1 InnoDB table: never block anyone" in mix
        await type_into(pilot, "#timeout", "0")
        await next_step(pilot)
        assert problem(step) == "The lock timeout must be between 1 and 600 seconds."
        await type_into(pilot, "#timeout", "8")
        await next_step(pilot)

        step = app.screen
        assert isinstance(step, FoldersStep)
        await type_into(pilot, "#images", str(tmp_path / "nowhere"))
        await next_step(pilot)
        assert "does not exist" in problem(step)
        await type_into(pilot, "#images", images)
        await pilot.pause(0.6)  # the path is checked once typing pauses
        await settle(pilot)
        assert text_of(step.query_one("#images-scan")) == "9 files, 18.5 KiB."
        await type_into(pilot, "#extra", str(extra))
        await pilot.press("enter")
        await settle(pilot)
        assert step.draft.extra_folders == [str(extra)]
        await next_step(pilot)

        step = app.screen
        assert isinstance(step, DestinationStep)
        await type_into(pilot, "#repository", os.path.join(images, "backups"))
        await next_step(pilot)
        assert "cannot go inside a folder being backed up" in problem(step)
        await type_into(pilot, "#repository", destination)
        await next_step(pilot)

        step = app.screen
        assert isinstance(step, EncryptionStep) and step.mode == "create"
        await type_into(pilot, "#passphrase", "short")
        await next_step(pilot)
        assert problem(step).startswith("Too short")
        await type_into(pilot, "#passphrase", NEW_PASSPHRASE)
        await type_into(pilot, "#again", NEW_PASSPHRASE + "x")
        await next_step(pilot)
        assert problem(step) == "The two passphrases differ: type the same one twice."
        await type_into(pilot, "#again", NEW_PASSPHRASE)
        await next_step(pilot)

        step = app.screen
        assert isinstance(step, RecoveryStep)
        first, second = step.expected()
        await type_into(pilot, "#group-a", "AAAAA")
        await type_into(pilot, "#group-b", second)
        await next_step(pilot)
        assert problem(step).startswith("That does not match the key above")
        await type_into(pilot, "#group-a", first.lower())
        await next_step(pilot)

        step = app.screen
        assert isinstance(step, FinishStep)
        summary = text_of(step.query_one("#summary"))
        assert f"Database: {small_db} on 127.0.0.1:3306 as root (consistent locking, lock timeout 8 s)" in summary
        assert f"Backups go to: {destination}" in summary and "enrolled" in summary
        await next_step(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert len(app.screen_stack) == 2

    saved = load_settings()
    assert saved is not None and saved.repository == destination
    assert saved.folders == (images, str(extra)) and saved.database.name == small_db
    assert saved.database.lock_timeout == 8.0
    text = open(settings_path()).read()
    assert NEW_PASSPHRASE not in text and "password" not in text
    repo = Repository.open(destination)
    repo.unlock(NEW_PASSPHRASE)
    assert os.path.exists(keymod.credentials_path(repo.repo_id))  # enrolled


async def test_an_existing_repository_is_unlocked_not_created(enrolled, images):
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await next_step(pilot)
        app.screen.query_one("#use-db").value = False
        await next_step(pilot)
        await type_into(pilot, "#images", images)
        await next_step(pilot)
        await type_into(pilot, "#repository", enrolled)
        await next_step(pilot)
        step = app.screen
        assert isinstance(step, EncryptionStep) and step.mode == "unlock"
        await type_into(pilot, "#passphrase", "not the passphrase")
        await next_step(pilot)
        assert "does not unlock this repository" in problem(step)
        await type_into(pilot, "#passphrase", PASSPHRASE)
        await next_step(pilot)
        assert isinstance(app.screen, FinishStep)
        assert "Database: none (folders only)" in text_of(app.screen.query_one("#summary"))
        await next_step(pilot)
        assert isinstance(app.screen, DashboardScreen)
    assert load_settings().database is None


async def test_setup_from_home_changes_the_passphrase(folder_settings):
    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen) and app.screen.draft.editing
        for _ in range(4):  # welcome, server (folders only), folders, destination
            await next_step(pilot)
        step = app.screen
        assert isinstance(step, EncryptionStep) and step.mode == "ready"
        await type_into(pilot, "#current", PASSPHRASE)
        await type_into(pilot, "#passphrase", NEW_PASSPHRASE)
        await type_into(pilot, "#again", NEW_PASSPHRASE)
        step.query_one("#change-now").focus()
        await pilot.press("enter")
        await settle(pilot)
        assert "The passphrase was changed" in text_of(step.query_one("#encryption-result"))
        await next_step(pilot)
        await next_step(pilot)
        assert isinstance(app.screen, DashboardScreen) and len(app.screen_stack) == 2
    Repository.open(folder_settings.repository).unlock(NEW_PASSPHRASE)


async def test_demo_refuses_a_database_that_is_in_use(small_db):
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        step = app.screen
        assert isinstance(step, DemoStep)
        assert step.query_one("#images").value.endswith(os.path.join("demo", "OpenDentImages"))
        await type_into(pilot, "#database", small_db)
        await next_step(pilot)
        assert isinstance(app.screen, DemoStep)
        assert problem(step).startswith("Refused:") and "Choose a new database name" in problem(step)


def test_passphrase_advice():
    assert passphrase_advice("short")[0] is False
    assert passphrase_advice("aaaaaaaaaaaa")[0] is False
    ok, text = passphrase_advice("maple kettle orbit seven")
    assert ok and text.plain.startswith("Strong")
    assert passphrase_advice("Tr0ub4dor&3x")[1].plain.startswith("Acceptable")
