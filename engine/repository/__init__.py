"""The repository: storage layout, keys, packs, index, snapshots and locks.

See ``engine/__init__.py`` for the vocabulary and docs/FORMAT.md for every
byte layout.
"""
