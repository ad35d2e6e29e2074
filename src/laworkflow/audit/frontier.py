"""The running root of an append-only log: RFC 9162's tree head kept up to date in O(log n) memory.

A long-running service signs a checkpoint every so often. Reading the whole log
and keeping every leaf hash each time would cost O(n) reads and memory for ever
more events; instead it keeps the roots of the perfect subtrees the log splits
into (one per 1 bit of its size, largest on the left) and folds each new leaf
in. The tree head of n leaves is those roots folded right to left, because an
RFC 9162 tree splits at the largest power of two below n, which is exactly the
largest perfect subtree; `merkle.root` over the same leaves gives the same
bytes (tested against it). A frontier also commits to what it has read: an
event edited in the store afterwards does not change what it goes on signing,
so `verify --checkpoint` later reports the edit.
"""

from __future__ import annotations

from collections.abc import Iterable

from laworkflow.audit.merkle import EMPTY_ROOT, node_hash


class Frontier:
    """The compact range [0, size) of a Merkle tree: (height, root) of each perfect subtree, left to right."""

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self.size = 0
        self._peaks: list[tuple[int, bytes]] = []
        self.extend(leaves)

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash (already `leaf_hash`ed) at the right."""
        node, height = leaf, 0
        while self._peaks and self._peaks[-1][0] == height:
            _, left = self._peaks.pop()
            node, height = node_hash(left, node), height + 1
        self._peaks.append((height, node))
        self.size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        """MTH of the leaves so far (the empty tree's root for none)."""
        if not self._peaks:
            return EMPTY_ROOT
        node = self._peaks[-1][1]
        for _, left in reversed(self._peaks[:-1]):
            node = node_hash(left, node)
        return node


__all__ = ["Frontier"]
