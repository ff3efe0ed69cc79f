"""The ``odbackup`` command: headless subcommands over the engine.

Every command builds its arguments, opens the repository, runs one engine
function with a printer as the event sink and maps the result (or the
engine error) to an exit code (docs/CLI.md).
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from engine import __version__
from engine.errors import OdbackupError, UsageError

from . import cli_help, commands
from .at_option import add_at_arg
from .printers import EXIT_OUTPUT_CLOSED
from .storage_commands import add_uplink_args

EXIT_INCOMPLETE = 3
JOB_NAMES = ("backup", "intraday", "maintenance", "archive", "supplemental", "offsite")
"""``engine.jobs.JOBS``'s names (a test keeps them equal): importing the jobs module to build the
parser would slow every command's start, a scheduled backup's too."""


def _repo_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repo", required=True, metavar="REPO", help="repository folder (USB drive, share, disk) or s3:https://HOST/BUCKET/FOLDER")


def _json_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON lines (one engine event per line)")


def _wait_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--wait", type=float, default=0.0, metavar="MINUTES",
                   help="while a backup or a reader holds the repository, try again for up to this long")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="odbackup",
        description="Encrypted, deduplicating, verified backups for Open Dental practices.",
        epilog=cli_help.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"odbackup {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, func: Callable, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=cli_help.DESCRIPTIONS[name])
        p.set_defaults(func=func)
        return p

    p = add("init", commands.init, "create a new encrypted repository")
    p.add_argument("repo_path", metavar="REPO")
    p.add_argument("--related-to", default="", metavar="REPO",
                   help="share this repository's keys, so 'copy' moves snapshots unopened (asks its passphrase)")
    p.add_argument("--label", default="", metavar="TEXT",
                   help="a name stored in the repository, e.g. 'Drive B, kept at home'")
    p.add_argument("--object-lock-days", type=int, default=0, metavar="DAYS",
                   help="online storage with Object Lock: nobody can delete or change a backup for this many "
                        "days, 9 to 3650 (storage is paid at least that long)")
    _json_arg(p)
    p = add("enroll", commands.enroll, "store write-only credentials so this machine can back up unattended")
    _repo_arg(p)
    p.add_argument("--db", action="append", default=[], metavar="URL",
                   help="also remember this database's password on this machine (owner-only file)")
    p = add("passwd", commands.passwd, "change the repository passphrase (no data is re-encrypted)")
    _repo_arg(p)
    p = add("backup", commands.backup, "back up folders and databases into a new snapshot")
    _repo_arg(p)
    p.add_argument("--path", action="append", default=[], metavar="DIR", help="a folder to back up (repeatable)")
    p.add_argument("--db", action="append", default=[], metavar="URL",
                   help="a database to back up, mysql://USER@HOST:PORT/DBNAME (repeatable)")
    p.add_argument("--lock-mode", choices=("consistent", "per-table"), default="consistent",
                   help="consistent: all MyISAM tables at one instant (writes wait during that part); "
                        "per-table: each table locked only while it is read (shortest pauses)")
    p.add_argument("--lock-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="give up a lock request after this long (it blocks the office's writes while it waits)")
    add_uplink_args(p)
    _json_arg(p)
    p = add("snapshots", commands.snapshots, "list snapshots")
    _repo_arg(p)
    add_at_arg(p)
    _json_arg(p)
    p = add("ls", commands.ls, "list files in a snapshot")
    _repo_arg(p)
    p.add_argument("snapshot", nargs="?", metavar="SNAPSHOT",
                   help="an ID prefix, 'latest' or a date (see above); not with --at")
    p.add_argument("path", nargs="?", metavar="PATH", help="only below this path")
    add_at_arg(p)
    _json_arg(p)
    p = add("restore", commands.restore, "restore a snapshot (or chosen paths) into a folder")
    _repo_arg(p)
    p.add_argument("snapshot", nargs="?", metavar="SNAPSHOT", help="not with --at")
    add_at_arg(p)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--to", metavar="DIR", help="folder to restore into (a new or empty one is safest)")
    where.add_argument("--original", action="store_true",
                       help="back where the folders were backed up from (needs --overwrite --confirm FOLDER)")
    p.add_argument("paths", nargs="*", metavar="PATH", help="only these paths of the snapshot")
    p.add_argument("--verify", action="store_true", help="re-read every restored file and compare")
    p.add_argument("--overwrite", action="store_true",
                   help="replace files that differ from the backup (their current versions are moved aside)")
    p.add_argument("--confirm", metavar="FOLDER", help="the live folder's full path, to confirm writing into it")
    p.add_argument("--dry-run", action="store_true", help="only say what would be created and replaced")
    _json_arg(p)
    p = add("restore-db", commands.restore_db, "restore a database of a snapshot into a new database")
    _repo_arg(p)
    p.add_argument("snapshot", nargs="?", metavar="SNAPSHOT", help="not with --at")
    add_at_arg(p)
    p.add_argument("--db", metavar="DBNAME", help="which database of the snapshot (if it has several)")
    p.add_argument("--into", required=True, metavar="URL", help="mysql://USER@HOST:PORT/NEWNAME")
    p.add_argument("--replace", action="store_true", help="replace an existing non-empty database (needs --confirm)")
    p.add_argument("--confirm", metavar="NAME", help="the target database's name typed again, to confirm --replace")
    _json_arg(p)
    p = add("verify", commands.verify, "restore a snapshot into scratch databases and prove it is complete")
    _repo_arg(p)
    p.add_argument("snapshot", nargs="?", default="latest", metavar="SNAPSHOT")
    p.add_argument("--server", metavar="URL", help="mysql://USER@HOST:PORT to restore onto (default: where it came from)")
    p.add_argument("--keep", action="store_true", help="keep the scratch databases for inspection")
    _json_arg(p)
    p = add("demo", commands.demo, "create a sample Open Dental practice (database and images) to try odbackup on")
    p.add_argument("--server", default="mysql://root@127.0.0.1:3306", metavar="URL",
                   help="mysql://USER@HOST:PORT (default: %(default)s)")
    p.add_argument("--db", default="opendental_demo", metavar="NAME", help="database to create (default: %(default)s)")
    p.add_argument("--images", metavar="DIR", help="A to Z images folder to create (default: in your data folder)")
    p.add_argument("--scale", type=float, default=1.0, metavar="N", help="1 is about 50 MB of data and 50 MB of images")
    _json_arg(p)
    p = add("check", commands.check, "check the repository's structure (and with --read-data, every byte)")
    _repo_arg(p)
    p.add_argument("--read-data", action="store_true", help="read and authenticate every stored byte")
    _json_arg(p)
    _config_parser(add("config", _config_usage, "read and set the saved settings without the app"))
    p = add("forget", commands.forget, "remove the snapshots the retention policy does not keep")
    _repo_arg(p)
    for rule, what in (("last", "the newest N snapshots"), ("hourly", "the newest of each of the last N hours"),
                       ("daily", "the newest of each of the last N days"),
                       ("weekly", "the newest of each of the last N weeks"),
                       ("monthly", "the newest of each of the last N months"),
                       ("yearly", "the newest of each of the last N years")):
        p.add_argument(f"--keep-{rule}", type=int, default=0, metavar="N", help=f"keep {what} (-1: all)")
    p.add_argument("--keep-within", default="", metavar="DURATION",
                   help="keep every snapshot within this span before the newest one (48h, 30d, 6m, 1y6m)")
    p.add_argument("--save-policy", action="store_true",
                   help="store these rules (or, without any, the settings' [retention]) in the repository as "
                        "its policy (needs the passphrase)")
    p.add_argument("--dry-run", action="store_true", help="only say what would be kept and removed")
    p.add_argument("--prune", action="store_true", help="then reclaim the space (as 'odbackup prune')")
    _wait_arg(p)
    _json_arg(p)
    p = add("prune", commands.prune, "delete what no snapshot uses any more and reclaim the space")
    _repo_arg(p)
    p.add_argument("--dry-run", action="store_true", help="only say what would be deleted and repacked")
    _wait_arg(p)
    _json_arg(p)
    p = add("copy", commands.copy, "copy the snapshots a related repository lacks into it")
    _repo_arg(p)
    p.add_argument("--to", required=True, metavar="REPO2", help="the related repository to copy into")
    p.add_argument("snapshots", nargs="*", metavar="SNAPSHOT", help="the snapshots to copy (default: all)")
    add_uplink_args(p)
    _json_arg(p)
    p = add("unlock", commands.unlock, "clear a stale lock left by a dead run")
    _repo_arg(p)
    p.add_argument("--force", action="store_true", help="clear the lock even if its owner looks alive")
    _add_job_commands(add)
    from . import archive_commands

    archive_commands.add_parser(add, _json_arg, cli_help.ARCHIVE_DESCRIPTIONS)
    _add_storage_commands(add)
    return parser


def _lazy(module: str, name: str) -> Callable[[argparse.Namespace, commands.Printer], int]:
    """The command function ``name`` of ``tui.<module>``, imported only when that command runs: building
    the parser must not load what other commands need (the settings model, the schedulers), which
    would add a tenth of a second to every scheduled backup's start."""

    def run(args: argparse.Namespace, printer: commands.Printer) -> int:
        from importlib import import_module

        return int(getattr(import_module(f"{__package__}.{module}"), name)(args, printer))

    run.__name__ = run.__qualname__ = name
    return run


def _config_parser(config: argparse.ArgumentParser) -> None:
    """``odbackup config show|get|set|unset|check|path``."""
    config.formatter_class = argparse.RawDescriptionHelpFormatter
    config.epilog = cli_help.CONFIG_EPILOG
    sub = config.add_subparsers(dest="config_command", metavar="ACTION")

    def add(name: str, func: Callable, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=cli_help.CONFIG_DESCRIPTIONS[name])
        p.set_defaults(func=func)
        _json_arg(p)
        return p

    add("show", _lazy("config_commands", "show"), "every setting with its meaning (--json: one object)")
    add("get", _lazy("config_commands", "get"), "one setting's value").add_argument("key", metavar="KEY")
    p = add("set", _lazy("config_commands", "set_"), "set one setting (checked as the setup checks it) and save")
    p.add_argument("key", metavar="KEY")
    p.add_argument("values", nargs="*", metavar="VALUE", help="the value; a list takes several")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--add", nargs="+", metavar="VALUE", help="add these to a list (folders.extra, *_days)")
    how.add_argument("--remove", nargs="+", metavar="VALUE", help="remove these from a list")
    add("unset", _lazy("config_commands", "unset"), "put one setting back to its default").add_argument("key", metavar="KEY")
    add("check", _lazy("config_commands", "check"), "say what is still missing before a backup can run (exit 1 if anything)")
    add("path", _lazy("config_commands", "path"), "print where the settings file is")


def _config_usage(args: argparse.Namespace, printer: commands.Printer) -> int:
    raise UsageError("Say what to do: odbackup config show|get|set|unset|check|path (odbackup config --help).")


def _folder_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config-dir", metavar="DIR", help="the settings and machine credentials folder to use")
    p.add_argument("--cache-dir", metavar="DIR", help="the files cache folder to use")
    p.add_argument("--log-dir", metavar="DIR", help="the folder for job logs and run records")


def _add_job_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """``run`` and ``schedule``: the jobs from the saved settings, and when the system starts them."""
    p = add("run", commands.run_job, "run one job (backup, intraday, maintenance, archive, supplemental, offsite) from the saved settings")
    p.add_argument("job", choices=JOB_NAMES, metavar="JOB", help="one of: " + ", ".join(JOB_NAMES))
    p.add_argument("--scheduled", action="store_true", help="started by the schedule (recorded as such)")
    p.add_argument("--force", action="store_true", help="supplemental, offsite: run even outside its window")
    _folder_args(p)
    _json_arg(p)
    p = add("status", commands.status, "say what needs attention (exit 0 all well, 8 warning, 9 critical)")
    _folder_args(p)
    _json_arg(p)
    p = add("schedule", commands.schedule, "install, remove or show the schedule in the operating system")
    p.add_argument("action", choices=("install", "remove", "show"), metavar="ACTION",
                   help="install, remove or show")
    p.add_argument("--print", action="store_true",
                   help="write the units, cron lines or task XML to stdout instead of installing them")
    p.add_argument("--for", dest="kind", choices=("systemd", "cron", "windows"),
                   help="which scheduler (default: the one running on this machine)")
    p.add_argument("--account", metavar="ACCOUNT",
                   help="Windows: the account the tasks run as (DOMAIN\\user; default the saved schedule.account, "
                        "else SYSTEM). schtasks asks for its password; it is never stored by odbackup")
    _folder_args(p)
    _json_arg(p)


def _add_storage_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """``storage-keys``: this machine's keys for online storage (tui/storage_commands.py)."""
    from .storage_commands import storage_keys

    p = add("storage-keys", storage_keys, "save this machine's keys for online storage (S3) and try them")
    p.add_argument("location", metavar="LOCATION", help="s3:https://HOST[:PORT]/BUCKET/FOLDER")
    p.add_argument("--forget", action="store_true", help="remove the keys saved for that server and bucket")
    _json_arg(p)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # argparse cannot take positionals after an option in between
        # ("restore REPO SNAP --to DIR PATH..."): those PATHs arrive here.
        if getattr(args, "command", None) == "restore" and not any(e.startswith("-") for e in extra):
            args.paths = list(args.paths) + extra
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "func", None):
        return run_app()
    printer = commands.make_printer(getattr(args, "json", False))
    code = _run_command(args, printer)
    if printer.output_closed:
        return EXIT_OUTPUT_CLOSED  # the reader went away (| head): nothing more to say, to no one
    return code


def _run_command(args: argparse.Namespace, printer: commands.Printer) -> int:
    """Run the command; map the engine's errors (and a bug) to a message and an exit code."""
    try:
        return int(args.func(args, printer))
    except UsageError as exc:
        printer.error(exc)
        return exc.exit_code
    except OdbackupError as exc:
        printer.error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        printer.info("Cancelled. The repository is left valid; nothing partial was saved as a snapshot.")
        return 130
    except OSError as exc:
        if printer.output_closed:
            return EXIT_OUTPUT_CLOSED
        if os.environ.get("ODBACKUP_DEBUG"):
            raise
        err = OdbackupError(f"{exc.strerror or exc}: {exc.filename or ''}".strip(": "),
                            hint="Check that the drive or network share is connected and writable.")
        printer.error(err)
        return 1
    except Exception as exc:  # a bug: say so plainly, never a bare traceback for the office
        if os.environ.get("ODBACKUP_DEBUG") and not printer.output_closed:
            raise
        printer.error(OdbackupError(f"Unexpected error ({type(exc).__name__}: {exc}).",
                                    hint="This is a bug in odbackup; run again with ODBACKUP_DEBUG=1 and report "
                                         "the output. The repository is left valid."))
        return 1


def run_app() -> int:
    """``odbackup`` with no command opens the Textual app (imported only then).

    A broken install (Textual missing or unimportable) is an error that names its cause,
    never help text and success: a scheduled or scripted start must see it failed."""
    try:
        from .app import main as app_main
    except ImportError as exc:
        if os.environ.get("ODBACKUP_DEBUG"):
            raise
        commands.make_printer(False).error(OdbackupError(
            f"The terminal app could not start: part of its installation is missing or broken ({exc}).",
            hint="Reinstall odbackup (in its folder: pip install -e .). The commands (odbackup --help) "
                 "work without the app."))
        return 1
    return int(app_main() or 0)


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    run()
