"""The supplemental copy: odbackup's own nightly last-resort copy, in its own repository.

Open Dental's Supplemental Backups (its manual's "Supplemental Backups" page) make
a nightly encrypted copy of the database between 10 pm and 4 am, to a "Backup Copy
Network Path" and to Open Dental HQ; it "is not verified", "may not include all
data" and leaves the images out. odbackup's supplemental copy is the same idea done
as a backup:

- ``odbackup run supplemental`` makes a fresh consistent backup of the database
  (and, unless ``supplemental.images`` is off, of the images folder) straight from
  the live server into its *own* repository at the Backup Copy Network Path
  (``supplemental.path``: a folder, a mounted share or a UNC path). It never reads
  the main repository, so it still restores when the main drive is lost;
- the repository there is made once by the passphrase holder, related to the main
  one (``odbackup init PATH --related-to MAIN``, or :func:`place.prepare` from the
  setup and the Supplemental screen): the main passphrase opens it (it has its own
  recovery key, shown once), and this machine's write-only credentials for the
  main repository write it (they can add backups, never read them back);
- each copy is checked after it is written (``check``), and the dashboard asks for a
  verify-restore of it once a month;
- it runs in its own window (``supplemental.window``, default 22:00-04:00), never
  while the nightly backup runs; outside the window it does not start (a
  ``skipped`` run record) unless forced.

The modules: ``settings.py`` (the ``[supplemental]`` settings and the window),
``place.py`` (the Backup Copy Network Path checked, and its repository made),
``run.py`` (the job's step), ``alerts.py`` (its state and alerts, with Open
Dental's admin-password audit, for ``odbackup status`` and the dashboard).
Open Dental's own Supplemental settings are read by
:mod:`engine.opendental.supplemental`, and never changed.
"""
