"""Open Dental's patient files: the ``document`` and ``eobattach`` rows against an images folder.

The database names each patient file: a ``document`` row's ``FileName`` lives in
``<A to Z>/<first letter of patient.ImageFolder, upper case>/<ImageFolder>/<FileName>``
(Open Dental's ``ImageStore.GetPatientFolder``), an ``eobattach`` row's in
``<A to Z>/EOBs/<FileName>`` (``ImageStore.GetEobFolder``). A row whose ``RawBase64``
is not empty holds its image in the database itself and names no file.

The folder usually sits on a Windows server, so names compare as Windows does:
case-insensitively, ``\\`` and ``/`` alike, trailing dots and spaces of a name
ignored (``S/SmithJohn12`` is ``s\\smithjohn12``).

:func:`read_named_files` reads the rows (plain SELECTs, nothing written);
:func:`compare_files` checks them against a list of files; :func:`check_snapshot`
and :func:`check_live` apply it to a snapshot's images folder (verify) and to the
live folder (before a backup, and for ``odbackup status``).
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..events import PatientFilesChecked
from ..repository.records import FolderSource, Source

EOB_FOLDER = "EOBs"
SHOWN = 20
"""How many missing (and unnamed) files a result names; the totals count them all."""
DEFAULT_FOLDER_NAME = "OpenDentImages"
"""Open Dental's default name of the A to Z folder: the snapshot's folder of that name is taken
when the settings name no images folder."""
SYSTEM_FILES = frozenset({"THUMBS.DB", "DESKTOP.INI"})
"""Files Windows itself leaves in folders (hidden there; Open Dental ignores them too)."""

CHECKED, NOT_OPEN_DENTAL, NO_IMAGES_FOLDER = "checked", "not open dental", "no images folder"
NOT_READ = "could not check"


def _simple_upper(char: str) -> str:
    """Windows upper-cases one character at a time (``ß`` stays ``ß``)."""
    upper = char.upper()
    return upper if len(upper) == 1 else char


def windows_key(path: str) -> str:
    """``path`` as Windows compares it: ``/`` for ``\\``, upper case, no trailing dots or spaces
    per name, no empty parts."""
    parts = (part.rstrip(" .") for part in path.replace("\\", "/").split("/"))
    return "/".join("".join(map(_simple_upper, part)) for part in parts if part)


def patient_file(image_folder: str, file_name: str) -> str:
    """Where Open Dental keeps a patient's file, inside the A to Z folder."""
    return f"{_simple_upper(image_folder[0])}/{image_folder}/{file_name}"


@dataclass(frozen=True)
class NamedFiles:
    """The files an Open Dental database names (paths inside the A to Z folder)."""

    paths: tuple[str, ...]
    in_database: int = 0
    """Rows whose image is kept in the database itself (``RawBase64``)."""
    unplaced: int = 0
    """``document`` rows whose patient has no folder (or no longer exists): they name no place."""


def _columns(conn, database: str) -> dict[str, set[str]]:
    with conn.cursor() as cur:
        cur.execute("SELECT LOWER(TABLE_NAME), LOWER(COLUMN_NAME) FROM information_schema.COLUMNS"
                    " WHERE TABLE_SCHEMA = %s AND LOWER(TABLE_NAME) IN ('document', 'patient', 'eobattach')",
                    (database,))
        found: dict[str, set[str]] = {}
        for table, column in cur.fetchall():
            found.setdefault(table, set()).add(column)
    return found


def read_named_files(conn, database: str) -> NamedFiles | None:
    """The files ``database`` names, read with plain SELECTs; None when it is not an Open Dental
    database (no ``document`` table with ``PatNum`` and ``FileName``, no ``patient.ImageFolder``)."""
    columns = _columns(conn, database)
    if not ({"patnum", "filename"} <= columns.get("document", set())
            and {"patnum", "imagefolder"} <= columns.get("patient", set())):
        return None
    db = "`" + database.replace("`", "``") + "`"
    raw = "LENGTH(d.RawBase64) > 0" if "rawbase64" in columns["document"] else "0"
    paths: list[str] = []
    in_database = unplaced = 0
    with conn.cursor() as cur:
        cur.execute(f"SELECT p.ImageFolder, d.FileName, {raw} FROM {db}.document d"
                    f" LEFT JOIN {db}.patient p ON p.PatNum = d.PatNum WHERE d.FileName <> ''")
        for folder, name, inside in cur.fetchall():
            if inside:
                in_database += 1
            elif not (folder or "").strip():
                unplaced += 1
            else:
                paths.append(patient_file(folder, name))
        if {"filename"} <= columns.get("eobattach", set()):
            eob_raw = "LENGTH(RawBase64) > 0" if "rawbase64" in columns["eobattach"] else "0"
            cur.execute(f"SELECT FileName, {eob_raw} FROM {db}.eobattach WHERE FileName <> ''")
            for name, inside in cur.fetchall():
                in_database += bool(inside)
                if not inside:
                    paths.append(f"{EOB_FOLDER}/{name}")
    return NamedFiles(tuple(paths), in_database, unplaced)


def in_patient_folder(path: str) -> bool:
    """A file directly in a patient folder (``S/SmithJohn12/x.jpg``; not its ``Thumbnails``)."""
    parts = path.replace("\\", "/").split("/")
    return len(parts) == 3 and len(parts[0]) == 1 and windows_key(parts[2]) not in SYSTEM_FILES


def compare_files(database: str, folder: str, named: NamedFiles, files: Iterable[str], *,
                  live: bool) -> PatientFilesChecked:
    """The named files against ``files`` (paths inside the images folder), as Windows compares."""
    expected = {windows_key(p): p for p in named.paths}
    present = {windows_key(p): p for p in files}
    missing = sorted((p for k, p in expected.items() if k not in present), key=windows_key)
    unnamed = sorted((p for k, p in present.items() if k not in expected and in_patient_folder(p)),
                     key=windows_key)
    return PatientFilesChecked(database, CHECKED, folder, live, checked=len(expected),
                               missing=tuple(missing[:SHOWN]), missing_total=len(missing),
                               unnamed=tuple(unnamed[:SHOWN]), unnamed_total=len(unnamed),
                               in_database=named.in_database, unplaced=named.unplaced)


def not_checked(database: str, state: str, folder: str, note: str, *, live: bool,
                named: NamedFiles | None = None) -> PatientFilesChecked:
    """A result that checked nothing, saying why in ``note``."""
    return PatientFilesChecked(database, state, folder, live, in_database=named.in_database if named else 0,
                               named=len(set(map(windows_key, named.paths))) if named else 0, note=note)


# --- the snapshot's images folder (verify) ------------------------------------------------------


def images_source(sources: Iterable[Source], configured: str) -> FolderSource | None:
    """The snapshot's folder source that is the A to Z folder: the one backed up from
    ``configured`` (the settings' ``folders.images``), or, when none is configured, the one named
    ``OpenDentImages``."""
    folders = [s for s in sources if isinstance(s, FolderSource)]
    if configured.strip():
        wanted = windows_key(os.path.abspath(configured)) if not _is_windows_path(configured) \
            else windows_key(configured)
        return next((s for s in folders if windows_key(s.path) == wanted), None)
    return next((s for s in folders if windows_key(s.name) == windows_key(DEFAULT_FOLDER_NAME)), None)


def _is_windows_path(path: str) -> bool:
    return path.startswith("\\\\") or (len(path) > 1 and path[1] == ":")


def snapshot_files(repo, source: FolderSource) -> Iterator[str]:
    """The files of a snapshot's folder source, as paths inside it."""
    from ..folders.browse import Entry, source_root, walk

    prefix = source.name + "/"
    for entry in walk(repo, Entry(source.name, source_root(source))):
        if entry.type == "file":
            yield entry.path.removeprefix(prefix)


def check_snapshot(repo, source: FolderSource | None, conn, database: str, configured: str) -> PatientFilesChecked:
    """Verify's check: the rows of the (restored) database ``database`` on ``conn`` against the
    snapshot's images folder ``source`` (None: the snapshot holds none)."""
    named = read_named_files(conn, database)
    if named is None:
        return not_checked(database, NOT_OPEN_DENTAL, "", "not an Open Dental database (it has no document "
                           "and patient tables): no patient files to check", live=False)
    if source is None:
        where = f"the settings' images folder, {configured}," if configured.strip() else \
            f"no images folder is set in the settings, and none is named {DEFAULT_FOLDER_NAME};"
        return not_checked(database, NO_IMAGES_FOLDER, configured,
                           f"this snapshot holds no images folder ({where} not in it)", live=False, named=named)
    return compare_files(database, source.name, named, snapshot_files(repo, source), live=False)


# --- the live images folder (before a backup, status) -------------------------------------------


def folder_files(top: str) -> Iterator[str]:
    """What the check needs of a live A to Z folder: the files of the patient folders
    (``<letter>/<folder>/<file>``) and of ``EOBs``, as paths inside it; nothing deeper is read."""
    with os.scandir(top) as entries:
        tops = [e for e in entries if e.is_dir()]
    for entry in tops:
        if windows_key(entry.name) == windows_key(EOB_FOLDER):
            yield from (f"{entry.name}/{name}" for name in _files_in(entry.path))
        elif len(entry.name) == 1:
            with os.scandir(entry.path) as patients:
                folders = [p for p in patients if p.is_dir()]
            for patient in folders:
                yield from (f"{entry.name}/{patient.name}/{name}" for name in _files_in(patient.path))


def _files_in(folder: str) -> list[str]:
    with os.scandir(folder) as entries:
        return [e.name for e in entries if e.is_file()]


def check_live(target, images_folder: str) -> PatientFilesChecked:
    """The live database's rows (``target.database``, read-only) against the live images folder:
    what the preflight says before a backup. Raises the database's errors as verify does."""
    import pymysql

    from ..database.connection import connect, translate

    database = target.database or ""
    conn = connect(target, database=database)
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION TRANSACTION READ ONLY")
        named = read_named_files(conn, database)
    except pymysql.err.MySQLError as exc:
        raise translate(exc, target, database) from None
    finally:
        conn.close()
    if named is None:
        return not_checked(database, NOT_OPEN_DENTAL, images_folder, "not an Open Dental database (it has no "
                           "document and patient tables): no patient files to check", live=True)
    if not images_folder.strip() or not os.path.isdir(images_folder):
        note = (f"the images folder {images_folder} cannot be found" if images_folder.strip()
                else "no images folder is set in the settings (folders.images)")
        return not_checked(database, NO_IMAGES_FOLDER, images_folder, note, live=True, named=named)
    return compare_files(database, images_folder, named, folder_files(images_folder), live=True)


def check_settings(settings) -> PatientFilesChecked | None:
    """The live check for saved settings (``odbackup status`` may call it): None when they back up
    no database. It reads every ``document`` row and lists every patient folder, so it costs
    about what a look at the images folder costs (see docs/BENCHMARKS.md)."""
    if settings.database is None:
        return None
    from ..database.connection import resolve_password

    return check_live(resolve_password(settings.database.target()), settings.images_folder)


# --- words ----------------------------------------------------------------------------------------


def _files(n: int) -> str:
    return f"{n:,} patient file" + ("" if n == 1 else "s")


def missing_words(e: PatientFilesChecked) -> str:
    """The verdict's words when files are missing: ``restores, but 12 patient files the database
    names are not in the backup`` (or, live, ``missing from the images folder today``)."""
    verb = "is" if e.missing_total == 1 else "are"
    if e.live:
        return f"{_files(e.missing_total)} the database names {verb} missing from the images folder today"
    return f"restores, but {_files(e.missing_total)} the database names {verb} not in the backup"


def summary_words(e: PatientFilesChecked) -> str:
    """One sentence: what was checked and found (or why nothing was)."""
    if e.state != CHECKED:
        named = f" The database names {_files(e.named)}." if e.named else ""
        return f"Patient files not checked: {e.note}.{named}"
    where = "today's images folder" if e.live else f"the backup's images folder ({e.images_folder})"
    if e.missing_total:
        said = f"{_files(e.checked)} the database names checked against {where}: {e.missing_total:,} missing."
    else:
        said = f"{_files(e.checked)} the database names checked against {where}: all there."
    if e.in_database:
        said += f" {e.in_database:,} more are kept in the database itself."
    if e.unplaced:
        said += f" {e.unplaced:,} document rows belong to no patient folder (not checked)."
    return said


def detail_lines(e: PatientFilesChecked) -> list[str]:
    """The missing files (first 20, then how many more) and the files no row names."""
    lines = [f"missing: {p}" for p in e.missing]
    if e.missing_total > len(e.missing):
        lines.append(f"... and {e.missing_total - len(e.missing):,} more missing")
    if e.unnamed_total:
        lines.append(f"{e.unnamed_total:,} file(s) in patient folders that no row names (not a problem: "
                     "Open Dental adds them when the patient's images are opened):")
        lines += [f"  {p}" for p in e.unnamed]
        if e.unnamed_total > len(e.unnamed):
            lines.append(f"  ... and {e.unnamed_total - len(e.unnamed):,} more")
    return lines
