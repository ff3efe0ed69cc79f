"""What ``odbackup --help`` and ``odbackup COMMAND --help`` say.

The help stands on its own: an installed copy has no docs/ folder to point to.
docs/CLI.md says the same at length; the exit codes here and there must agree
(tests/cli/test_help.py compares them).
"""
from __future__ import annotations

EPILOG = """\
The passphrase comes from ODBACKUP_PASSPHRASE or a prompt on the terminal, never
from an argument; a machine enrolled with 'odbackup enroll' backs up without it.
Database URLs are mysql://USER@HOST:PORT/DBNAME (parts may be percent-encoded);
the password comes from ODBACKUP_DB_PASSWORD, the one 'enroll --db' remembered,
the MySQL option files (~/.my.cnf), or a prompt when the server asks for one and
a person is at the terminal. With --json, stdout is one JSON object per line:
the events, then a summary line (null means "not known yet").
ODBACKUP_CONFIG_DIR, ODBACKUP_CACHE_DIR, ODBACKUP_LOG_DIR and ODBACKUP_REPORTS_DIR
move this machine's folders. 'odbackup COMMAND --help' tells more about each
command; 'odbackup' alone opens the terminal app.

Exit codes:
  0    success
  1    failed: the message on stderr says what happened and what to do
  2    bad arguments or usage
  3    completed, but some files could not be read (named; the snapshot is
       marked incomplete)
  4    wrong passphrase or recovery key, or no usable credentials
  5    the repository is locked by another run (which one is named)
  6    the repository is damaged (check found errors, or a restore met damaged
       data), or verify FAILED
  7    run: skipped, the previous run of the same job is still going (archive:
       no archive drive is plugged in, a reminder)
  8    status: a warning needs attention (nothing critical)
  9    status: something critical needs attention (a backup overdue, a failed
       run, the schedule not installed ...)
  130  cancelled (Ctrl+C)
  141  the output was closed by its reader (| head): stopped there, quietly
"""

SNAPSHOT = ("SNAPSHOT is an ID prefix (4 or more hex digits), 'latest', or a local date or date and time "
            "(2026-11-20, 2026-11-20T17:00): the latest snapshot taken at or before it.")
AT = ("--at \"2026-11-03 14:00\" instead of SNAPSHOT: the newest snapshot at or before that local time in "
      "REPO or any archive drive of it plugged in now; stderr says which repository it came from.")

DESCRIPTIONS = {
    "init": "Create a new encrypted repository in REPO: a new or empty folder on a USB drive, a network "
            "share or another disk. It asks for a passphrase twice (or takes ODBACKUP_PASSPHRASE) and prints "
            "the RECOVERY KEY once: write it down and keep it away from the backup drive. With --related-to "
            "REPO (an archive drive, a second copy), the new repository has its own ID and --label but REPO's "
            "keys: it opens with REPO's passphrase (asked for, or ODBACKUP_PASSPHRASE) and its own recovery "
            "key, and 'odbackup copy' moves snapshots into it without any passphrase.",
    "copy": "Copy the snapshots REPO2 (--to) lacks (default: all; or the SNAPSHOTs named) into it, sending only "
            "the data it lacks, as the sealed bytes it is, when REPO2 is related to REPO ('init REPO2 "
            "--related-to REPO'): this machine's write-only credentials for REPO suffice for both. Into an "
            "unrelated repository every blob is opened and sealed again: that needs ODBACKUP_PASSPHRASE (REPO) "
            "and ODBACKUP_TO_PASSPHRASE (REPO2, when it differs), or their prompts. Snapshot "
            "files are written last, so a copy stopped at any moment leaves REPO2 valid and the next copy "
            "goes on where it stopped. " + SNAPSHOT,
    "storage-keys": "Save this machine's keys for online storage (S3-compatible: AWS, Backblaze B2, Wasabi, "
                    "a SeaweedFS or Ceph server) for the server and bucket of LOCATION, after trying them: a test "
                    "file is written, read back and removed, and the upload speed is said. The keys come from "
                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or are asked on the terminal; they go only into "
                    "an owner-only file. --forget removes them.",
    "enroll": "Store write-only credentials on this machine, so that 'backup' (and 'snapshots', 'check') run "
              "unattended without the passphrase. They can add snapshots but cannot read anything back. "
              "Needs the passphrase once. With --db, also remembers that database user's password here, in "
              "an owner-only file.",
    "passwd": "Change the repository's passphrase. It asks for the current passphrase (or the recovery key) "
              "and the new one twice, or takes ODBACKUP_PASSPHRASE and ODBACKUP_NEW_PASSPHRASE. No data is "
              "re-encrypted and the recovery key keeps working.",
    "backup": "Back up folders (--path) and MySQL/MariaDB databases (--db) into one new snapshot. Unchanged "
              "files and tables cost nothing. InnoDB tables are read without blocking anyone; MyISAM tables "
              "need a read lock (see --lock-mode): who is connected and how long writes will wait are said "
              "first, and the lock is timed and released on success, error and Ctrl+C. Uses the passphrase, "
              "or this machine's write-only credentials after 'odbackup enroll'. Exit 3 when some files "
              "could not be read (they are named; the snapshot is saved, marked incomplete).",
    "snapshots": "List the repository's snapshots: ID, time, host, files, size, complete or not, and the "
                 "last verification. What each holds (folders, databases) is shown with the passphrase; "
                 "this machine's write-only credentials cannot read it. With --at \"2026-11-03 14:00\": only "
                 "the newest snapshot at or before it, in REPO or an archive drive plugged in, and where it is.",
    "ls": "List the files and folders of a snapshot (needs the passphrase). " + SNAPSHOT + " " + AT
          + " PATH starts with the backed-up folder's name: --path /srv/OpenDentImages is stored as OpenDentImages/...",
    "restore": "Restore a snapshot's files (or only the PATHs given) into --to DIR, as DIR/<folder name>/...: "
               "a file already there is never overwritten. Writing into a folder the snapshot was backed up "
               "from (or with --original, back in place) needs --overwrite and --confirm with that folder's "
               "full path; a replaced file's current version is first moved aside to "
               "FOLDER.odbackup-replaced-<time>/, never deleted. Try --dry-run first. Needs the passphrase. "
               + SNAPSHOT + " " + AT,
    "restore-db": "Restore a database of a snapshot into a new database (--into mysql://USER@HOST:PORT/NEWNAME). "
                  "An existing non-empty database is never written into, unless --replace and --confirm "
                  "repeats its name. Triggers, routines and events that name the original database are "
                  "restored naming the new one. Needs the passphrase. " + SNAPSHOT + " " + AT,
    "verify": "Prove a snapshot restores completely and exactly: each database is restored into a scratch "
              "database (odbackup_verify_..., never an existing one) and every table compared with the "
              "checksums taken at backup time; CHECK TABLE runs; views, routines, triggers and events are "
              "checked; every file is decrypted and checked. The scratch databases are dropped (unless "
              "--keep) and a dated report is written. Exit 6 when it FAILED. Needs the passphrase.",
    "demo": "Create a sample Open Dental practice to try odbackup on: a database (default opendental_demo) "
            "and an A to Z images folder. Nothing else on the server is touched.",
    "check": "Check the repository's structure and references (the write-only credentials suffice). With "
             "--read-data (needs the passphrase) every stored byte is read and authenticated, and the "
             "snapshots and files any damage affects are named. Exit 6 when errors are found.",
    "forget": "Remove the snapshots a retention policy does not keep, saying for each kept one why (restic's "
              "rules: each --keep-* rule counted on its own, periods in local time, --keep-within measured "
              "from the newest snapshot; the newest complete and the newest verified snapshot are always "
              "kept). Without --keep-* rules, the policy stored in the repository applies. With the "
              "passphrase, --save-policy stores the rules given (or the settings' [retention]) as that "
              "policy. This machine's write-only credentials apply the stored policy and may not loosen it "
              "(exit 4). Verification reports are never deleted. --prune then reclaims the space.",
    "prune": "Delete the data no snapshot uses any more: whole unused packs first, then mostly-unused packs "
             "are rewritten (their still-used parts copied as they are, never decrypted). This machine's "
             "write-only credentials suffice. Safe to stop at any moment; refuses (exit 5) while a backup or "
             "a reader holds the repository, unless --wait.",
    "run": "Run one job from the saved settings with this machine's write-only credentials (after 'odbackup "
           "enroll'): no passphrase and no prompt, as the schedule starts it. backup: the database and every "
           "folder, in the saved lock mode. intraday: the database only, in the office-hours lock mode. "
           "maintenance: the repository's upkeep (retention by the policy stored in the repository, reclaiming "
           "space, a check). archive: the snapshots the plugged-in archive drive lacks, its own retention "
           "and a check of what was written (no drive plugged in: skipped, exit 7). offsite: the snapshots "
           "the offsite repository in online storage lacks, within offsite.window and offsite.limit_upload "
           "(stopped by the window's end: incomplete, exit 3; the next night goes on). Every run leaves a "
           "record in the log folder (runs/runs.jsonl and runs/last-JOB.json) and a job log. A run whose "
           "previous run of the same job is still going is recorded as skipped and exits 7. The database "
           "password comes from ODBACKUP_DB_PASSWORD, the one 'enroll --db' remembered or the option files.",
    "schedule": "Put the saved schedule into the operating system, which starts 'odbackup run JOB' at the set "
                "times (no odbackup process waits in between): on Linux a systemd timer and service per job "
                "(system-wide as root, else your user's units), or cron lines where systemd does not run; on "
                "Windows a Task Scheduler task per job (needs an administrator), run as SYSTEM or, with --account "
                "DOMAIN\\user (or the saved schedule.account), as that account: schtasks asks for its password at "
                "the console and Windows keeps it (never odbackup's files); choose an account when the backup goes "
                "to a network share, which SYSTEM usually cannot reach. 'remove' takes out exactly what "
                "install put in; 'show' reads back what the operating system really has: installed, enabled, "
                "next run. --print writes the units, cron lines or task XML (--for systemd, cron or windows, "
                "on any system) instead of installing them.",
    "status": "Say in plain words what needs attention, for a person or a monitoring tool: the newest "
              "complete backup older than the schedule allows, the schedule not installed or disabled in the "
              "operating system, the last run of a job failed or skipped, scheduled runs missed, no "
              "verification in 30 days, the destination missing or nearly full, no retention policy stored "
              "while maintenance is scheduled; then the next run of each scheduled job. Reads the repository "
              "with this machine's write-only credentials (or ODBACKUP_PASSPHRASE). Exit 0 when all is well, "
              "8 for warnings only, 9 when anything is critical. With --json: one object with level, "
              "exit_code, alerts (level, kind, title, message, hint, text) and next_runs.",
    "unlock": "Clear the lock a crashed or killed run left in the repository. A lock whose owner still "
              "looks alive (its process runs on this machine, or another machine refreshed it recently) is "
              "kept, unless --force.",
}

DESCRIPTIONS["archive"] = (
    "Archive drives: removable drives that each hold a repository related to the main one, recognized "
    "by that repository's ID and a label, never by drive letter or mount point. 'archive add PATH --label "
    "NAME [--monthly]' makes a blank drive (or an empty folder on one) an archive drive: it needs the "
    "passphrase once and prints the drive's recovery key. 'archive list' says where each drive is now, its "
    "last copy, its snapshots and its room. 'odbackup run archive' copies to whichever is plugged in.")

ARCHIVE_DESCRIPTIONS = {
    "add": "Make PATH an archive drive of the main repository (--repo, or the saved settings'): a missing or "
           "empty folder gets a new related repository (shown: its recovery key), a repository related to "
           "the main one is added as it is, anything else is refused and nothing is written. Rotating drives "
           "(the default) take turns and keep what the main repository's retention keeps; --monthly drives "
           "keep everything and are sealed with a final verification report when full. Needs the passphrase "
           "(ODBACKUP_PASSPHRASE or the prompt).",
    "list": "List the archive drives: each one's label, kind and ID, where it is plugged in now (found by its "
            "ID), its last copy, the snapshots it held then, its room (monthly drives: about how many more "
            "months) and whether it is due to be swapped in. Reads only.",
    "remove": "Forget an archive drive by its label. Nothing on the drive is changed: 'archive add' on its "
              "folder brings it back.",
    "search": "Folders to look in for archive drives, besides the system's mount points (/media, /run/media "
              "and /mnt; drive letters on Windows): each folder, and two levels inside it. With no DIR: list "
              "them. --remove takes the DIRs out.",
}

DESCRIPTIONS["config"] = (
    "Read and set the settings the setup saves (settings.toml in this machine's config folder), for "
    "scripts that set up many offices: 'config show' lists every setting with its meaning, 'config set "
    "KEY VALUE' checks a value exactly as the setup does and saves it, 'config check' says what is still "
    "missing. No secret is ever a setting.")

CONFIG_EPILOG = """\
Keys are named after settings.toml's tables and fields: repository, folders.images,
folders.extra, database.host, database.port, database.user, database.name,
database.lock_mode, database.lock_timeout, schedule.nightly, schedule.nightly_days,
schedule.intraday, schedule.intraday_days, schedule.intraday_lock_mode,
schedule.maintenance, schedule.maintenance_days, retention.within, retention.last,
retention.hourly, retention.daily, retention.weekly, retention.monthly,
retention.yearly, retention.reports_years; and 'database' itself: on, or off for a
folders-only setup (any database.* key turns it on).

Lists take several values: 'config set folders.extra /srv/Docs /srv/Exports'
replaces the list, '--add' and '--remove' change it; days may also be written
Mon,Wed,Fri. 'config unset KEY' puts a key back to its default (folders.extra: none).

The first 'config set' creates the settings. A value is refused (exit 2, nothing
written) when it brings a new problem; what is still missing while a setup is
built one key at a time (no repository yet) is said as a warning on stderr, and
'config check' lists it (exit 1 until nothing is missing). Secrets are never
settings: the database password goes in ODBACKUP_DB_PASSWORD, the setup, or
'odbackup enroll --repo REPO --db URL'; the passphrase in ODBACKUP_PASSPHRASE, or
'odbackup enroll' for write-only credentials.
"""

CONFIG_DESCRIPTIONS = {
    "show": "Print the settings as settings.toml holds them, each key under its meaning, then what is still "
            "missing. Without saved settings, the defaults a first 'config set' starts from. With --json: "
            "one JSON object with path, saved, settings (the tables of settings.toml; database null when "
            "off) and problems.",
    "get": "Print one setting's value: text as it is, a list one item per line, database as on or off. "
           "With --json: one object with key and value.",
    "set": "Set one setting and save it. The value is checked exactly as the setup checks it (a folder must "
           "exist and be readable, the destination usable, times like 21:00, days like Mon,Fri, ...): a "
           "refused value writes nothing and exits 2. Lists take several VALUEs; --add and --remove change "
           "a list instead of replacing it.",
    "unset": "Put one setting back to its default (folders.images and folders.extra: none; database: off). "
             "Refused, like set, when that leaves nothing to back up.",
    "check": "Say whether a backup can run from the saved settings: every problem of the settings, and "
             "whether each folder and the destination can be used now. Exit 0 when ready, 1 otherwise.",
    "path": "Print the settings file's path (ODBACKUP_CONFIG_DIR moves it). With --json: path and saved.",
}
