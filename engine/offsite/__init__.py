"""The offsite copy: the main repository's new snapshots copied, night after night, into a
related repository in online storage (an S3-compatible bucket).

Words used here:

- the *offsite repository*: a repository in a bucket made once from the main one with
  ``odbackup init LOCATION --related-to MAIN`` (same secrets, its own ID), so the copy moves
  sealed blobs unopened and this machine's write-only credentials suffice
  (:mod:`engine.repository.copy`);
- the *window*: the hours the copy may use the office's internet (``offsite.window``,
  ``23:00-06:30`` by default). The scheduler starts the job at its start; at its end the run
  stops cleanly, what reached the bucket stays indexed, and the next night goes on from there;
- the *upload limit*: the average rate the copy may send at (``offsite.limit_upload``,
  ``20Mbit``; empty: the line's speed), :mod:`engine.repository.uplink`;
- *still to send*: the sealed bytes the bucket lacks for the snapshots it lacks
  (:func:`engine.repository.copy.planned_bytes`), what the dashboard shows.

``settings.py`` is the ``[offsite]`` table (pure), ``make.py`` makes the offsite repository (the
app's setup), ``run.py`` the job's step, ``alerts.py`` the
state the dashboard and ``odbackup status`` show and the alerts that follow from it.
"""
