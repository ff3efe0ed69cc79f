"""Prune's choice of packs and the signed retention policy, without a CLI in between."""
from __future__ import annotations

import os

import pytest

from engine import crypto
from engine.errors import RepositoryDamaged
from engine.repository.pack import BlobEntry, PackContents
from engine.repository.policy import load_policy, public_key, save_policy
from engine.repository.prune import PrunePlan, _choose
from engine.repository.storage import LocalBackend
from engine.retention import Duration, Policy


def _pack(name: str, used: list[int], unused: list[int], header: int = 200) -> tuple[PackContents, set[bytes]]:
    blobs, offset, used_ids = [], 0, set()
    for i, length in enumerate(used + unused):
        blob_id = os.urandom(32)
        if i < len(used):
            used_ids.add(blob_id)
        blobs.append(BlobEntry(blob_id, "data", offset, length, length, 0))
        offset += length
    return PackContents(name, offset + header, (os.urandom(32),), tuple(blobs)), used_ids


def _plan(*packs: tuple[PackContents, set[bytes]]) -> PrunePlan:
    plan = PrunePlan(1, {p.pack_id: p for p, _ in packs}, (), set().union(*(u for _, u in packs)))
    _choose(plan)
    return plan


def test_whole_unused_packs_go_and_mostly_unused_ones_are_repacked():
    plan = _plan(_pack("gone", [], [1000, 1000]), _pack("half", [400], [600]),
                 _pack("full", [10_000], []), _pack("little", [9_500], [500]))
    assert plan.unused_packs == ["gone"]
    assert plan.repack == ["half"]  # "little" is 5% unused, and what is left unused is under 10%
    assert plan.bytes_to_free == 2200 + 600


def test_small_unused_parts_are_repacked_while_more_than_a_tenth_stays_unused():
    plan = _plan(*[_pack(f"p{i}", [7_000], [3_000]) for i in range(4)])
    assert len(plan.repack) >= 1
    left = plan.bytes_unused - sum(3_000 for _ in plan.repack)
    assert left <= 0.10 * (plan.bytes_total - 3_000 * len(plan.repack))


def test_a_small_packs_header_is_no_reason_to_repack_it():
    """A fully used small pack (refs and trees) whose header is most of its size stays: rewriting it
    would give a pack with a header too, and every prune would rewrite it again."""
    plan = _plan(_pack("small", [300], [], header=900), _pack("big", [50_000], []))
    assert plan.nothing_to_do


def test_the_policy_is_signed_with_the_full_key_and_checked_with_the_machines_key(tmp_path):
    backend = LocalBackend(str(tmp_path))
    maint_key, private = os.urandom(32), crypto.new_keypair()[0]
    policy = Policy(daily=30, weekly=13, within=Duration.parse("48h"))
    save_policy(backend, maint_key, "repo-1", private, policy)
    stored = load_policy(backend, maint_key, "repo-1", public_key(private))
    assert stored is not None and stored.policy == policy
    with pytest.raises(RepositoryDamaged):  # another repository's key (or a forger's) does not check it
        load_policy(backend, maint_key, "repo-1", public_key(crypto.new_keypair()[0]))
    with pytest.raises(RepositoryDamaged):  # nor does the same file presented as another repository's
        load_policy(backend, maint_key, "repo-2", public_key(private))


def test_no_policy_file_means_none_stored(tmp_path):
    assert load_policy(LocalBackend(str(tmp_path)), os.urandom(32), "r", public_key(os.urandom(32))) is None
