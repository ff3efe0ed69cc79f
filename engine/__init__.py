"""odbackup engine: a plain library (no Textual, no Rich, no printing).

Vocabulary, used the same way in code, docs and the user interface:

repository
    A folder (USB drive, network share, other disk) holding everything below.
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

The modules: ``repository/`` (storage, keys, packs, index, snapshots, locks),
``folders/`` (folder backup, files cache, restore), ``check.py``,
``credentials.py`` (the order credentials are tried in), ``listing.py`` (the
snapshot list), ``status.py`` (the alert policy), ``words.py`` (plain-words
sizes and times), ``events.py`` (what long operations report), ``errors.py``.
"""

__version__ = "0.1.0"
