"""Databases: consistent backups of a live MySQL/MariaDB database, restore into a
new database, and verify-restore.

Words used here (in addition to the repository's):

table stream
    A table's rows as bytes, one line per row in primary-key order, in the
    format ``LOAD DATA`` reads (tab-separated, ``\\N`` for NULL, backslash
    escapes). The server formats the values; Python only moves bytes. The
    stream is chunked like a file, so unchanged tables and appended rows
    deduplicate.
lock window
    How long the office's writes wait (or could wait) because of us: from
    each read lock request to its release, while the non-transactional
    (MyISAM) tables are read under it (``readlock.py`` takes and times it).
consistent mode
    One global read lock for all MyISAM tables at one instant (InnoDB tables
    come from a consistent-snapshot transaction opened under the same lock).
per-table mode
    Each MyISAM table is locked only while it is read: the shortest pause per
    table, but tables are not all from the same instant.
"""
