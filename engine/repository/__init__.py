"""The repository: storage layout, keys, packs, index, snapshots and locks.

See ``engine/__init__.py`` for the vocabulary and docs/FORMAT.md for every
byte layout. ``repo.py`` opens and unlocks a repository; ``keys.py`` holds key
files and machine credentials; ``pack.py``, ``blobs.py`` and ``index.py`` store
blobs; ``snapshot.py`` reads and writes snapshot files, ``names.py`` says which
names a snapshot may give (a forged one is refused) and ``choosing.py`` which
snapshot ``latest``, an ID or a date names; ``lock.py`` holds the writer's,
readers' and deleting run's locks; ``storage.py`` is where the files live.
"""
