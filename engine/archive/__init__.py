"""Archives: copies of the repository on drives that come and go.

Words used in this package, the CLI and the app:

- An *archive drive* is a removable drive (or any folder) holding its own
  repository, made *related* to the main one (``init --related-to``,
  docs/FORMAT.md section 10.4), so copies move sealed blobs unopened and the
  machine's write-only credentials suffice.
- A drive is known by its repository's **ID** and a **label** the user gives
  ("Drive B, kept at home"), never by drive letter or mount point. Where it
  was last seen is kept only as a *hint*: a drive that comes back elsewhere is
  found by looking for its ID (:mod:`engine.archive.drives`). Nothing is ever
  written where the ID is not found: an empty mount point of an unplugged
  drive, or another drive, is left alone.
- *Rotating* drives take turns (one at the office, one at home): whichever is
  plugged in gets the snapshots it lacks, then its own retention. *Monthly*
  drives keep everything; when one fills up it is *sealed* with a final
  verification report, and the next one is asked for.
- The *archive book* (``archives.json`` in the config folder) lists the known
  drives, what the last copy to each found, and the folders searched besides
  the system's mount points. It holds no secret.

Modules: :mod:`.drives` (the book, and finding a drive), :mod:`.job`
(``odbackup run archive``), :mod:`.forecast` (pure: room left, rotation due,
the alerts), :mod:`.at` (going back to a date across the repositories present).
"""
