"""RFC 9162 Merkle tree (laworkflow.audit.merkle) against independent known answers, then by property.

The known answers are the RFC 6962 reference data of Certificate Transparency's
merkle_tree_test.cc, as transparency-dev/merkle's testdata generator carries them:
eight leaves, the root of every prefix, and published inclusion and consistency
proofs. They are literals here, not computed by the code under test.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from laworkflow.audit import merkle

LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index, 0-based; tree size; audit path)
INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
# (old size, new size, consistency proof)
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
HASHES = [merkle.leaf_hash(leaf) for leaf in LEAVES]


def test_the_empty_tree_is_the_hash_of_nothing() -> None:
    assert merkle.root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_the_reference(size: int) -> None:
    assert merkle.root(HASHES[:size]).hex() == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_proofs_match_the_reference_and_verify(index: int, size: int, path: list[str]) -> None:
    proof = merkle.inclusion_proof(HASHES[:size], index)
    assert [p.hex() for p in proof] == path
    assert merkle.verify_inclusion(HASHES[index], index, size, proof, bytes.fromhex(ROOTS[size - 1]))


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY)
def test_consistency_proofs_match_the_reference_and_verify(old: int, new: int, path: list[str]) -> None:
    proof = merkle.consistency_proof(HASHES[:new], old)
    assert [p.hex() for p in proof] == path
    old_root, new_root = bytes.fromhex(ROOTS[old - 1]), bytes.fromhex(ROOTS[new - 1])
    assert merkle.verify_consistency(old, new, old_root, new_root, proof)
    if proof:  # the reference's corruptions: swapped roots, empty, truncated, extended proofs, wrong sizes
        assert not merkle.verify_consistency(old, new, new_root, old_root, proof)
        assert not merkle.verify_consistency(old, new, old_root, new_root, [])
        assert not merkle.verify_consistency(old, new, old_root, new_root, proof[:-1])
        assert not merkle.verify_consistency(old, new, old_root, new_root, [*proof, old_root])
        assert not merkle.verify_consistency(old - 1 or 2, new, old_root, new_root, proof)
        assert not merkle.verify_consistency(old, new * 2, old_root, new_root, proof)


def _hashes(data: list[bytes]) -> list[bytes]:
    return [merkle.leaf_hash(d) for d in data]


# Distinct leaves: with repeated leaves two different trees can share a root, and no proof can tell them apart.
LOGS = st.lists(st.binary(max_size=8), min_size=2, max_size=40, unique=True)


@given(LOGS, st.data())
def test_every_inclusion_proof_verifies_and_a_changed_leaf_or_size_fails(data: list[bytes], draw: st.DataObject) -> None:
    hashes = _hashes(data)
    index = draw.draw(st.integers(0, len(hashes) - 1))
    proof, top = merkle.inclusion_proof(hashes, index), merkle.root(hashes)
    assert merkle.verify_inclusion(hashes[index], index, len(hashes), proof, top)
    assert not merkle.verify_inclusion(merkle.leaf_hash(data[index] + b"!"), index, len(hashes), proof, top)
    if index < len(hashes) - 1:  # the same proof does not prove the leaf in the shorter tree, against that tree's root
        assert not merkle.verify_inclusion(hashes[index], index, len(hashes) - 1, proof, merkle.root(hashes[:-1]))


@given(LOGS, st.data())
def test_every_consistency_proof_verifies_and_a_changed_leaf_or_size_fails(data: list[bytes], draw: st.DataObject) -> None:
    hashes = _hashes(data)
    old = draw.draw(st.integers(1, len(hashes)))
    proof = merkle.consistency_proof(hashes, old)
    old_root, new_root = merkle.root(hashes[:old]), merkle.root(hashes)
    assert merkle.verify_consistency(old, len(hashes), old_root, new_root, proof)
    changed = draw.draw(st.integers(0, old - 1))
    forged = [*hashes[:changed], hashlib.sha256(b"forged").digest(), *hashes[changed + 1 :]]
    assert not merkle.verify_consistency(old, len(forged), old_root, merkle.root(forged), merkle.consistency_proof(forged, old))
    if old < len(hashes) - 1:
        assert not merkle.verify_consistency(old, len(hashes) - 1, old_root, merkle.root(hashes[:-1]), proof)


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_all_proofs_at_once_match_the_reference(index: int, size: int, path: list[str]) -> None:
    top, proofs = merkle.inclusion_proofs(HASHES[:size])
    assert top.hex() == ROOTS[size - 1]
    assert [p.hex() for p in proofs[index]] == path


@pytest.mark.parametrize("size", range(1, 70))
def test_all_proofs_at_once_equal_each_proof_alone(size: int) -> None:
    hashes = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    top, proofs = merkle.inclusion_proofs(hashes)
    assert top == merkle.root(hashes)
    assert proofs == [merkle.inclusion_proof(hashes, i) for i in range(size)]
    assert merkle.levels(hashes)[0] == hashes


def test_all_proofs_of_the_empty_tree() -> None:
    assert merkle.inclusion_proofs([]) == (merkle.EMPTY_ROOT, [])
