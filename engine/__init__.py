"""odbackup engine: a plain library (no Textual, no Rich, no printing).

Vocabulary, used the same way in code, docs and the user interface:

repository
    A folder (USB drive, network share, other disk), or a folder (prefix) in
    an S3-compatible bucket, holding everything below.
    It is readable only with a key; on its own it reveals approximate sizes
    and counts and nothing else.
chunk
    A piece of a file or of a database table stream, cut at content-defined
    boundaries so that an insertion only changes the chunks around it.
blob
    A chunk (type ``data``), a directory listing (``tree``) or a reference list
    (``refs``) once it is compressed and encrypted. A blob's ID is a keyed
    hash of its plaintext, so equal content is stored once (deduplication)
    and nobody without the key can test whether a known file is stored.
pack
    A file of tens of MB holding many blobs plus an encrypted header listing
    them. Packs are named by the hash of their bytes.
index
    Files mapping blob IDs to the pack, offset and length where they live.
snapshot
    One backup run: when, which sources, the root tree, and the statistics.
key
    A key file holds the repository's secrets sealed under a passphrase (or
    a recovery key). Machine credentials hold only the write-side secrets.
session
    The public-key sealing context a writer uses for the data it stores:
    a writer can seal data it can never read back.

The packages and modules (each says more in its own docstring):

``repository/``
    The repository itself: storage (a folder, or an S3-compatible bucket:
    ``s3.py``, chosen by ``locations.py``), keys and machine credentials, packs,
    blobs, the index, snapshot files and their typed records (``records.py``:
    stats, sources, tree and table nodes), locks; in a bucket, folder trees
    read ahead (``treeahead.py``).
``folders/``
    Folder backup, the files cache, restore of files, browsing a snapshot.
``database/``
    MySQL/MariaDB in general: connection, schema, table streams, the dump
    (``dump.py``), the MyISAM read lock (``readlock.py``) and its watchdog
    (``locking.py``), restore, compare.
``opendental/``
    What is specific to Open Dental: the sample practice (``demo/``), the
    ``document`` rows checked against the images folder (``documents.py``),
    the admin users without a password (``admins.py``) and Open Dental's own
    Supplemental Backups settings (``supplemental.py``), all read-only.
``archive/``
    Archive drives known by repository ID and label: the archive book, finding
    a drive wherever it is plugged in, ``odbackup run archive``, the room-left
    forecast, and going back to a date across the repositories present.
``supplemental/``
    The supplemental copy: the nightly last-resort backup into its own
    repository at the Backup Copy Network Path (its settings and window,
    the job's step, its alerts).
``offsite/``
    The offsite copy: the main repository's new snapshots copied each night
    into a related repository in online storage, within an upload window and
    limit (its settings, making its repository from the app, the job's step,
    its state and alerts).
``schedule/``
    When each job runs (pure ``next_runs``) and the files each operating
    system's scheduler reads (systemd, cron, Windows Task Scheduler).
``jobs.py``
    What ``odbackup run JOB`` does.
``storagekeys.py``
    The keys of online storage (S3): from the environment, or saved in an owner-only file.
``runlog.py``
    The run records (one line per run, the last result per job) and the log folder.
``filelock.py``
    An operating-system lock on an open file (Linux and Windows), released when the process ends.
``joblock.py``
    One run of a job at a time (an operating-system lock a crash cannot leave behind).
``forget.py``
    Applying a retention policy to a repository (``repository/prune.py``
    reclaims the space).
``status.py``
    The state of the backups and the pure alert policy.
``upcoming.py``
    The next run of each scheduled job, in plain words.
``credentials.py``
    The order a repository's credentials are tried in.
``listing.py``
    The snapshot list with verifications.
``places.py``
    Checks of the folders and the destination the settings name.
``words.py``
    Sizes, times and durations in plain words.
``backup.py``
    One backup run: folders and databases into one snapshot.
``pipeline.py``
    Chunking, compressing and sealing on worker threads, shared by both kinds.
``chunker.py``
    Content-defined chunking (FastCDC).
``crypto.py``
    The cryptographic building blocks (docs/FORMAT.md explains each choice).
``recovery.py``
    The recovery key a person writes down.
``check.py``
    Checking a repository's structure and, optionally, every stored byte.
``verify.py``
    Verify-restore: restore into scratch places, compare, report.
``reports.py``
    The verification reports kept in the repository.
``retention.py``
    The pure retention policy: which snapshots to keep, which to remove, why.
``settings.py``
    What the setup saves (settings.toml): one typed, validated model.
``config_keys.py``
    The dotted keys of ``odbackup config`` (``database.host``, ``schedule.nightly`` ...).
``jobsettings.py``
    The scheduled jobs' and retention's settings, turned into engine types.
``paths.py``
    Where odbackup keeps its own files on this machine.
``progress.py``
    Throttled progress, the background count and the time left.
``events.py``
    What long operations report (typed, frozen events).
``errors.py``
    The one hierarchy of errors, each with a plain message and a hint.
"""

__version__ = "0.1.0"
