"""RFC 9162 §2.1 Merkle Tree Hash, inclusion and consistency proofs, and their verification.

Our own small module rather than `pymerkle` (7.0, checked): pymerkle hashes the
RFC 9162 way, but pins `cachetools` to one exact version, ships no type hints
(mypy --strict), and its proofs are its own serialised objects (a "rule" bit
path) rather than the RFC's audit paths, so a third party could not check them
with a standard verifier. The auditor's stand-alone verifier (issue 9, item 3)
must re-implement exactly this arithmetic with hashlib alone, so the code that
defines the record is the code shown here: a leaf is SHA-256(0x00 || data), a
node SHA-256(0x01 || left || right), and a tree of n > 1 leaves splits at the
largest power of two smaller than n. Proof generation follows §2.1.3.1/§2.1.4.1
(PATH and SUBPROOF); verification follows §2.1.3.2/§2.1.4.2 step by step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(hashes: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes (already `leaf_hash`ed); the empty tree's root is SHA-256 of nothing."""
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return node_hash(root(hashes[:k]), root(hashes[k:]))


def inclusion_proof(hashes: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) (§2.1.3.1): the audit path of leaf `index` (0-based) in the tree of `hashes`."""
    if not 0 <= index < len(hashes):
        raise ValueError(f"leaf {index} is not in a tree of {len(hashes)}")
    if len(hashes) == 1:
        return []
    k = _split(len(hashes))
    if index < k:
        return [*inclusion_proof(hashes[:k], index), root(hashes[k:])]
    return [*inclusion_proof(hashes[k:], index - k), root(hashes[:k])]


def consistency_proof(hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(m, D[n]) (§2.1.4.1): proves the first `old_size` leaves' tree is a prefix of this one."""
    if not 0 < old_size <= len(hashes):
        raise ValueError(f"no consistency proof from size {old_size} to {len(hashes)}")
    return _subproof(hashes, old_size, True)


def _subproof(hashes: Sequence[bytes], m: int, whole: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if whole else [root(hashes)]
    k = _split(n)
    if m <= k:
        return [*_subproof(hashes[:k], m, whole), root(hashes[k:])]
    return [*_subproof(hashes[k:], m - k, False), root(hashes[:k])]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes) -> bool:
    """§2.1.3.2: does `proof` put leaf hash `leaf` at `index` of a tree of `size` whose root is `expected_root`?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == expected_root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """§2.1.4.2: does `proof` show the tree (`old_size`, `old_root`) is a prefix of (`new_size`, `new_root`)?"""
    if not 0 < old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node of the path
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


def levels(hashes: Sequence[bytes]) -> list[list[bytes]]:
    """The tree's nodes level by level, leaves first, built once in O(n).

    Pairing neighbours left to right and promoting an unpaired last node
    unchanged to the level above builds exactly the RFC's tree (split at the
    largest power of two): the left part of every split is a perfect subtree,
    so only the rightmost node of a level can lack a partner.
    """
    built = [list(hashes)]
    while len(built[-1]) > 1:
        below = built[-1]
        above = [node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
        if len(below) % 2:
            above.append(below[-1])
        built.append(above)
    return built


def inclusion_proofs(hashes: Sequence[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """The root and every leaf's audit path (the same as `inclusion_proof` for each), in O(n log n) rather than O(n²)."""
    if not hashes:
        return EMPTY_ROOT, []
    tree = levels(hashes)
    proofs: list[list[bytes]] = []
    for index in range(len(hashes)):
        path, position = [], index
        for level in tree[:-1]:
            sibling = position ^ 1
            if sibling < len(level):  # the last node of an odd level has no sibling here: it was promoted
                path.append(level[sibling])
            position >>= 1
        proofs.append(path)
    return tree[-1][0], proofs
