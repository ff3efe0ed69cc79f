"""Walking a snapshot's folder trees: listing and selecting paths.

Paths inside a snapshot are ``/``-separated and start with the source name
(``OpenDentImages/S/SmithJohn1234/xray.jpg``).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import SnapshotNotFound
from ..repository.records import FolderSource, FolderTree, TreeNode, parse
from ..repository.repo import Repository
from ..repository.snapshot import Snapshot


@dataclass(frozen=True)
class Entry:
    """One node of a snapshot, with its path inside the snapshot."""

    path: str
    node: TreeNode

    @property
    def type(self) -> str:
        return self.node.type


def source_root(source: FolderSource) -> TreeNode:
    """A source folder as a directory node."""
    return TreeNode(source.name, "dir", source.mode, source.mtime_ns, subtree=source.tree)


def roots(repo: Repository, snap: Snapshot) -> list[Entry]:
    return [Entry(s.name, source_root(s)) for s in snap.open_body(repo.require_full_key()).folders]


def children(repo: Repository, entry: Entry) -> list[Entry]:
    if entry.type != "dir":
        return []
    assert entry.node.subtree is not None  # a dir has one (engine/repository/names.py checks it)
    tree = parse(FolderTree, repo.read_tree(bytes.fromhex(entry.node.subtree)))
    return [Entry(f"{entry.path}/{n.name}", n) for n in tree.nodes]


def walk(repo: Repository, entry: Entry) -> Iterator[Entry]:
    """``entry`` and everything below it, parents before children."""
    stack = [entry]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(repo, current)))


def find(repo: Repository, snap: Snapshot, path: str) -> Entry:
    """The entry at ``path`` (``/`` or ``\\`` separated) in the snapshot."""
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    if not parts:
        raise SnapshotNotFound("An empty path was given.")
    level = roots(repo, snap)
    found: Entry | None = None
    for part in parts:
        found = next((e for e in level if e.node.name == part), None)
        if found is None:
            raise SnapshotNotFound(f"'{path}' is not in snapshot {snap.short_id}.")
        level = children(repo, found)
    assert found is not None
    return found
