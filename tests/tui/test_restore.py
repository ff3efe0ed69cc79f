"""Restore from the app: browse a snapshot, restore files into a folder, a database under a new
name, and replacing a database only when its name is typed in full."""
from __future__ import annotations

import os

from textual.errors import NoWidget
from textual.widgets import Select, Tree
from tuihelpers import (
    PASSPHRASE,
    SIZE_LARGE,
    SIZE_SMALL,
    admin_conn,
    burst,
    lines_of,
    settle,
    text_of,
)

from engine.backup import run_backup
from engine.database.connection import DbTarget
from engine.database.preflight import DatabaseSummary
from engine.repository.repo import Repository
from engine.settings import Settings
from tui.app import OdbackupApp
from tui.screens.modals import ErrorScreen
from tui.screens.restore import RestoreScreen
from tui.screens.restore_dialogs import RestoreDatabaseDialog, RestoreFilesDialog


def backup(settings: Settings) -> str:
    """One backup of ``settings``; returns its snapshot ID."""
    repo = Repository.open(settings.repository)
    repo.unlock(PASSPHRASE)
    return run_backup(repo, settings.backup_plan()).snapshot_id


async def open_restore(pilot) -> RestoreScreen:
    pilot.app.secret = PASSPHRASE
    await settle(pilot)
    await pilot.press("r")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, RestoreScreen)
    return screen


def labels(node) -> list[str]:
    return [str(child.label) for child in node.children]


def database_exists(name: str) -> bool:
    conn = admin_conn()
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,))
        found = bool(cur.fetchone()[0])
    conn.close()
    return found


def rows(database: str, table: str) -> int:
    conn = admin_conn()
    with conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM `{database}`.`{table}`")
        count = int(cur.fetchone()[0])
    conn.close()
    return count


async def test_browse_folders_and_restore_one_into_a_new_folder(folder_settings, tmp_path):
    backup(folder_settings)
    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_LARGE) as pilot:
        screen = await open_restore(pilot)
        tree = screen.query_one(Tree)
        assert labels(tree.root) == ["Folders"]
        folders = tree.root.children[0]
        assert labels(folders) == ["OpenDentImages/"]
        await pilot.press("down", "down", "enter")  # open OpenDentImages
        await settle(pilot)
        assert labels(folders.children[0]) == ["S/"]
        await pilot.press("down", "enter")
        await settle(pilot)
        patient = folders.children[0].children[0].children[0]
        assert str(patient.label) == "SmithJohn0/"
        await pilot.press("down")
        assert "OpenDentImages/S/SmithJohn0: press f" in text_of(screen.query_one("#selection"))
        await pilot.press("f")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, RestoreFilesDialog)
        target = str(tmp_path / "restored")
        dialog.query_one("#folder").value = target
        await pilot.press("enter")
        await settle(pilot)
        result = lines_of(screen, "#restore-result")
        assert result[0].startswith("Restored 3 files") and "every file re-read and verified" in result[0]
    restored = os.path.join(target, "OpenDentImages", "S", "SmithJohn0", "xray1.jpg")
    original = os.path.join(folder_settings.images_folder, "S", "SmithJohn0", "xray1.jpg")
    assert open(restored, "rb").read() == open(original, "rb").read()


async def test_typing_the_live_images_folder_asks_for_its_path_and_escape_keeps_it(folder_settings):
    snap = backup(folder_settings)
    images = folder_settings.images_folder
    before = sorted(os.walk(images))
    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_LARGE) as pilot:
        screen = await open_restore(pilot)
        when = screen.query_one("#when")
        when.value = "2000-01-01"  # a date before any backup
        when.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ErrorScreen)
        assert "No snapshot was taken on or before 2000-01-01" in app.screen.error.message
        await pilot.press("enter")
        when.value = "2999-12-31 23:59"  # the latest at or before a date
        await pilot.press("enter")
        await settle(pilot)
        assert screen.snapshot.snapshot_id == snap
        screen.query_one(Tree).focus()
        await pilot.press("f")
        await pilot.pause()
        dialog = app.screen
        dialog.query_one("#folder").value = images  # a folder inside the live one would be made
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is dialog  # not yet: the live folder's path must be typed
        warning = text_of(dialog.query_one("#replace-warning"))
        assert f"This writes into {images}, the LIVE folder" in warning
        assert "to go on, type its full path below" in warning
        assert dialog.query_one("#confirm-row").display
        dialog.query_one("#confirm").value = "OpenDentImages"  # not the full path
        await pilot.press("enter")
        assert f"Type {images} exactly" in text_of(dialog.query_one("#dialog-problem"))
        await pilot.click("#cancel")  # "Back": the choices again, nothing confirmed
        assert dialog.query_one("#choose").display and not dialog.query_one("#confirm-row").display
        assert dialog.query_one("#folder").value == images
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen and not screen.running
    assert sorted(os.walk(images)) == before


async def test_back_in_place_replaces_only_what_differs_with_the_path_typed(folder_settings):
    backup(folder_settings)
    images = folder_settings.images_folder
    xray = os.path.join(images, "S", "SmithJohn0", "xray1.jpg")
    good = open(xray, "rb").read()
    with open(xray, "wb") as f:
        f.write(b"damaged after the backup")
    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_LARGE) as pilot:
        screen = await open_restore(pilot)
        await pilot.press("f")  # the whole snapshot
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, RestoreFilesDialog)
        dialog.query_one("#original").value = True
        await pilot.pause()
        assert not dialog.query_one("#folder-row").display
        await pilot.click("#ok")
        await settle(pilot)
        warning = text_of(dialog.query_one("#replace-warning"))
        assert "REPLACED: 1 file differing from the backup" in warning
        assert "Left alone: 8 files already as in the backup" in warning
        assert "OpenDentImages/S/SmithJohn0/xray1.jpg" in warning
        dialog.query_one("#confirm").value = images
        dialog.query_one("#confirm").focus()
        await pilot.press("enter")
        await settle(pilot)
        result = lines_of(screen, "#restore-result")
        assert result[0].startswith("Restored 1 file") and "the original folders" in result[0]
        assert result[1].startswith("1 file replaced; their previous versions are in ")
        kept = result[1].split(" are in ", 1)[1].rstrip(".")
    assert open(xray, "rb").read() == good
    assert open(os.path.join(kept, "S", "SmithJohn0", "xray1.jpg"), "rb").read() == b"damaged after the backup"


async def test_database_under_a_new_name_then_replace_only_with_the_name_typed(db_settings, fresh_db):
    backup(db_settings)
    live = db_settings.database.name
    new = fresh_db("restored")
    app = OdbackupApp(db_settings)
    async with app.run_test(size=SIZE_LARGE) as pilot:
        screen = await open_restore(pilot)
        tree = screen.query_one(Tree)
        assert labels(tree.root) == ["Databases", "Folders"]
        assert labels(tree.root.children[0]) == [live]
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        assert labels(tree.root.children[0].children[0]) == ["newtable  1 rows", "patient  50 rows",
                                                             "procedurelog  50 rows"]
        await pilot.press("d")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, RestoreDatabaseDialog)
        assert dialog.query_one("#name").value.startswith(f"{live}_restored_")
        dialog.query_one("#name").value = new
        await pilot.press("enter")
        await settle(pilot)
        assert f"NEW database '{new}' on 127.0.0.1:3306" in text_of(dialog.query_one("#replace-warning"))
        await pilot.press("enter")  # the go-ahead, the final name shown
        await settle(pilot)
        assert lines_of(screen, "#restore-result")[0].startswith(f"Restored {live} as {new}: 3 tables, 101 rows")
        assert rows(new, "patient") == 50

        conn = admin_conn()  # the live database changes after the backup ...
        with conn.cursor() as cur:
            cur.execute(f"INSERT INTO `{live}`.patient VALUES (5000, 'After the backup')")
        conn.close()
        await pilot.press("d")  # ... and is replaced from the backup: only with its name typed
        await pilot.pause()
        dialog = app.screen
        dialog.query_one("#name").value = live
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RestoreDatabaseDialog)
        warning = text_of(dialog.query_one("#replace-warning"))
        assert f"'{live}' already exists on 127.0.0.1:3306: 3 tables" in warning
        assert "Restoring REPLACES it" in warning and "LIVE database Open Dental works on" in warning
        dialog.query_one("#confirm").value = "opendental"
        await pilot.click("#ok")
        await pilot.pause()
        assert f"Type {live} exactly" in text_of(dialog.query_one("#dialog-problem"))
        assert rows(live, "patient") == 51
        dialog.query_one("#confirm").value = live
        dialog.query_one("#confirm").focus()
        await pilot.press("enter")  # (the keyboard: a toast may cover the button)
        await settle(pilot)
        assert app.screen is screen
        assert lines_of(screen, "#restore-result")[0].startswith(f"Restored {live} as {live}")
    assert rows(live, "patient") == 50


async def test_a_burst_of_keys_is_the_name_used_and_the_name_is_confirmed_first(db_settings, fresh_db):
    """A held Backspace then the new name and Enter, all in one burst (a slow link): every key
    lands in order, and nothing is restored before the exact final name is shown and confirmed."""
    backup(db_settings)
    live = db_settings.database.name
    new = fresh_db("burst")
    app = OdbackupApp(db_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        screen = await open_restore(pilot)
        await pilot.press("down", "down")
        await pilot.press("d")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, RestoreDatabaseDialog)
        erase = len(dialog.query_one("#name").value) + 3
        burst(pilot, ["backspace"] * erase + list(new) + ["enter"])
        await settle(pilot)
        assert dialog.query_one("#name").value == new
        assert app.screen is dialog, "restored without showing the final name first"
        shown = text_of(dialog.query_one("#replace-warning"))
        assert f"'{new}'" in shown and "NEW database" in shown
        assert not database_exists(new)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert lines_of(screen, "#restore-result")[0].startswith(f"Restored {live} as {new}")
    assert rows(new, "patient") == 50


def visible(widget) -> bool:
    """Whether ``widget`` can be seen (and clicked) on its screen: it is what is drawn at its centre."""
    try:
        found, _ = widget.screen.get_widget_at(*widget.region.center)
    except NoWidget:
        return False
    return found is widget


async def test_the_replace_and_new_name_steps_fit_80x24_with_their_buttons(db_settings):
    """The warning, the field to type the name in and the buttons are all on screen at 80x24;
    Back returns to the name, Escape closes the dialog."""
    app = OdbackupApp(db_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        dialog = RestoreDatabaseDialog("opendental", "127.0.0.1:3306", "root", "2025-06-30T16:05:00+00:00",
                                       ("127.0.0.1:3306", "opendental"))
        app.push_screen(dialog)
        await settle(pilot)
        dialog.target = DbTarget(host="127.0.0.1", port=3306, user="root", database="opendental")
        dialog.checked(DatabaseSummary("opendental", 408, 6_400_000_000, 300, 10, ()))
        await settle(pilot)
        assert "LIVE database" in text_of(dialog.query_one("#replace-warning"))
        for selector in ("#confirm", "#ok", "#cancel"):
            assert visible(dialog.query_one(selector)), f"{selector} is out of view at 80x24"
        assert str(dialog.query_one("#cancel").label) == "Back"
        await pilot.click("#cancel")
        await settle(pilot)
        assert app.focused is dialog.query_one("#name") and dialog.found is None
        dialog.target = DbTarget(host="127.0.0.1", port=3306, user="root", database="opendental_copy")
        dialog.checked(None)
        await settle(pilot)
        assert "NEW database 'opendental_copy' on 127.0.0.1:3306" in text_of(dialog.query_one("#replace-warning"))
        assert visible(dialog.query_one("#ok")) and app.focused is dialog.query_one("#ok")
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, RestoreDatabaseDialog)


async def test_the_reading_placeholder_cannot_be_chosen_once_the_snapshots_are_read(folder_settings):
    """Choosing the top of the snapshot list keeps a snapshot chosen and its tree shown."""
    first = backup(folder_settings)
    backup(folder_settings)
    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        screen = await open_restore(pilot)
        select = screen.query_one("#snapshot", Select)
        select.focus()
        await pilot.press("enter", "up", "up", "up", "enter")
        await settle(pilot)
        assert select.value != Select.NULL
        tree = screen.query_one(Tree)
        assert labels(tree.root) == ["Folders"]
        select.focus()
        await pilot.press("enter", "down", "down", "enter")  # the older one, then the top again
        await settle(pilot)
        assert select.value == first
        await pilot.press("enter", "up", "up", "up", "enter")
        await settle(pilot)
        assert select.value != Select.NULL and labels(tree.root) == ["Folders"]


async def test_a_burst_with_tab_fills_each_field_with_what_was_typed_into_it(db_settings):
    """Tab in a burst moves on before the keys typed after it: nothing typed for the next field
    (the password) lands in the one being left (the name, shown in clear)."""
    app = OdbackupApp(db_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        dialog = RestoreDatabaseDialog("opendental", "127.0.0.1:3306", "root", "2025-06-30T16:05:00+00:00", None)
        app.push_screen(dialog)
        await settle(pilot)
        erase = ["backspace"] * 60
        burst(pilot, erase + list("copy") + ["tab"] + erase + list("db2:3307") + ["tab", "tab"] + list("s3cret")
              + ["shift+tab"] + erase + list("odbackup"))
        await settle(pilot)
        values = {name: dialog.query_one(f"#{name}").value for name in ("name", "server", "user", "password")}
    assert values == {"name": "copy", "server": "db2:3307", "user": "odbackup", "password": "s3cret"}


async def test_a_restore_from_the_app_takes_a_readers_lock(folder_settings, tmp_path):
    """While a run that deletes (prune, forget) holds the repository, a restore started in the app
    is refused with the reason (it takes a reader's lock, as the CLI's restore does), and nothing
    is written."""
    from engine.repository.lock import RepoLock

    backup(folder_settings)
    held = Repository.open(folder_settings.repository)
    held.unlock(PASSPHRASE)
    app = OdbackupApp(folder_settings)
    target = tmp_path / "restored"
    async with app.run_test(size=SIZE_LARGE) as pilot:
        await open_restore(pilot)
        await pilot.press("down", "down")
        await settle(pilot)
        await pilot.press("f")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, RestoreFilesDialog)
        dialog.query_one("#folder").value = str(target)
        lock, _ = RepoLock.acquire(held.backend, held.keys.maint_key, "prune", mode="delete")
        try:
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, ErrorScreen), app.screen
            assert "being cleaned up by" in text_of(app.screen.query_one("#error-message"))
        finally:
            lock.release()
    assert not target.exists() or not any(target.rglob("*.jpg"))
    assert os.listdir(os.path.join(folder_settings.repository, "locks")) == []
