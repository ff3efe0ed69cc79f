"""Which names read from a snapshot may be used: source names, folder-tree names, table names.

Whoever holds machine credentials can write a snapshot (they must: that is
how unattended backups work), and its body and trees are sealed to the
repository's public key, which those credentials include. So a snapshot is
not trusted just because it opens: a forged or damaged one could name a
source ``../..`` or a file ``C:\\Windows``. Every name is checked here when a
snapshot body or a tree is read, before anything uses it as part of a path,
and a bad one is an :class:`UnsafeSnapshot` error, which ``check`` reports.

Two strengths:

- a *source* name becomes a folder of its own in a restore target: a plain
  single name on every platform (no ``/``, ``\\``, drive letter, NUL, ``.``,
  ``..`` or empty);
- a *tree node* name is a name inside a folder as the backed-up system had it:
  no ``/``, NUL, ``.``, ``..`` or empty (a POSIX file may legitimately contain
  ``\\`` or ``:``; the restore refuses those one by one where the platform
  cannot create them).

Database and table names only ever reach SQL quoted as identifiers: they must
be non-empty text without NUL, at most 64 characters (the server's limit).
"""
from __future__ import annotations

import re
from typing import NoReturn

from ..errors import UnsafeSnapshot

_DRIVE = re.compile(r"^[A-Za-z]:")
_HEX_ID = re.compile(r"^[0-9a-f]{64}$")
SQL_NAME_MAX = 64


def node_name_problem(name: object) -> str | None:
    """Why ``name`` cannot be a name inside a folder, or None when it can."""
    if not isinstance(name, str) or not name:
        return "an empty name"
    if name in (".", ".."):
        return "a name that points outside its folder"
    if "/" in name:
        return "a name with '/' in it"
    if "\0" in name:
        return "a name with a NUL character in it"
    return None


def source_name_problem(name: object) -> str | None:
    """Why ``name`` cannot be a source folder's name in a snapshot, or None when it can."""
    problem = node_name_problem(name)
    if problem is not None:
        return problem
    assert isinstance(name, str)
    if "\\" in name:
        return "a name with '\\' in it"
    if _DRIVE.match(name):
        return "a name that starts with a drive letter"
    return None


def sql_name_problem(name: object) -> str | None:
    """Why ``name`` cannot be a database or table name from a snapshot, or None when it can."""
    if not isinstance(name, str) or not name:
        return "an empty name"
    if "\0" in name:
        return "a name with a NUL character in it"
    if len(name) > SQL_NAME_MAX:
        return f"a name longer than {SQL_NAME_MAX} characters"
    return None


def check_body(snapshot_id: str, body: object) -> None:
    """Raise :class:`UnsafeSnapshot` unless every source of a snapshot body is well formed and safely named."""
    sources = body.get("sources") if isinstance(body, dict) else None
    if not isinstance(sources, list) or not all(isinstance(s, dict) for s in sources):
        raise UnsafeSnapshot(f"Snapshot {snapshot_id[:8]} is damaged or unsafe: its list of sources is malformed.")
    seen: set[str] = set()
    for source in sources:
        kind, name = source.get("kind"), source.get("name")
        check = source_name_problem if kind == "folder" else sql_name_problem
        problem = check(name) if kind in ("folder", "database") else None
        if problem is None and kind == "folder" and name in seen:
            problem = "a name given to two sources"
        if problem is None and kind in ("folder", "database") and not _is_id(source.get("tree")):
            problem = "no valid tree ID"
        if problem is not None:
            raise UnsafeSnapshot(f"Snapshot {snapshot_id[:8]} is damaged or unsafe: its {kind} source "
                                 f"{name!r} has {problem}.")
        if kind == "folder":
            seen.add(str(name))


def check_tree(tree_id: bytes, tree: object) -> None:
    """Raise :class:`UnsafeSnapshot` unless a tree blob's names are safe: a folder listing's
    entries (``nodes``), or a database tree's tables (``tables``)."""
    if not isinstance(tree, dict):
        _unsafe_tree(tree_id, "it is not a listing")
    if "nodes" in tree:
        _check_nodes(tree_id, tree["nodes"])
    if "tables" in tree:
        _check_tables(tree_id, tree["tables"])


def _check_nodes(tree_id: bytes, nodes: object) -> None:
    if not isinstance(nodes, list) or not all(isinstance(n, dict) for n in nodes):
        _unsafe_tree(tree_id, "its entries are malformed")
    seen: set[str] = set()
    for node in nodes:
        name = node.get("name")
        problem = node_name_problem(name)
        if problem is None and name in seen:
            problem = "a name listed twice"
        if problem is None and node.get("type") == "dir" and not _is_id(node.get("subtree")):
            problem = "no valid subtree ID"
        if problem is not None:
            _unsafe_tree(tree_id, f"the entry {name!r} has {problem}")
        seen.add(name)


def _check_tables(tree_id: bytes, tables: object) -> None:
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        _unsafe_tree(tree_id, "its tables are malformed")
    for table in tables:
        problem = sql_name_problem(table.get("name"))
        if problem is not None:
            _unsafe_tree(tree_id, f"the table {table.get('name')!r} has {problem}")


def _unsafe_tree(tree_id: bytes, why: str) -> NoReturn:
    raise UnsafeSnapshot(f"A listing in the snapshot (tree {tree_id.hex()[:12]}) is damaged or unsafe: {why}.")


def _is_id(value: object) -> bool:
    return isinstance(value, str) and bool(_HEX_ID.match(value))
