"""The leaves of the audit tree: every stored event of the whole notification log, in log order.

Everything the engine stores goes through one notification log: cases, the
API key ring, the risk authorities, anything added later. So one tree over the
log covers whatever decides what the engine does or who may do it, with no
list of aggregates to keep up to date, and deleting, inserting, reordering or
editing any stored event changes the root.

Leaf data (version 1), for an auditor to re-implement: five fields, in this
order, each written as its length in bytes (8 bytes, big-endian, unsigned)
followed by the bytes themselves:

1. the notification id, decimal ASCII (`"17"`);
2. the originator id, the UUID's canonical lower-case hex with hyphens, ASCII;
3. the originator version, decimal ASCII;
4. the topic, UTF-8 (`"laworkflow.cases.case:Case.Started"`);
5. the state: the event's JSON exactly as the engine wrote it, before any
   encryption at rest (with a cipher configured the store keeps ciphertext with a
   random nonce; the leaf covers the plaintext, so the tree, checkpoints and
   bundles verify the same with or without encryption, and across an import).

The leaf hash is then SHA-256(0x00 || leaf data), see `merkle`. A length-prefixed
binary encoding rather than canonical JSON: it needs nothing but hashlib, has
exactly one encoding of any event (no number or Unicode normalisation rules to
agree on), and covers the state bytes as stored, so any edit of a stored byte,
including fields a decoder would ignore, changes the leaf (and with a cipher,
any edit of the ciphertext fails its authentication tag and is reported).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from laworkflow.audit.merkle import leaf_hash
from laworkflow.projections.follower import pages


def _field(data: bytes) -> bytes:
    return len(data).to_bytes(8, "big") + data


def leaf_data(notification_id: int, originator_id: Any, version: int, topic: str, state: bytes) -> bytes:
    """The encoding above of one stored event."""
    parts = (str(notification_id).encode("ascii"), str(originator_id).encode("ascii"), str(version).encode("ascii"), topic.encode("utf-8"), bytes(state))
    return b"".join(_field(p) for p in parts)


@dataclass(frozen=True)
class LogEntry:
    """One stored event of the log, its state as plaintext (decrypted and decompressed when the store does either)."""

    notification_id: int
    originator_id: Any
    version: int
    topic: str
    state: bytes

    def leaf(self) -> bytes:
        """This entry's leaf hash in the audit tree."""
        return leaf_hash(leaf_data(self.notification_id, self.originator_id, self.version, self.topic, self.state))


def plaintext(mapper: Any, state: bytes) -> bytes:
    """Stored state bytes as the engine wrote them: the mapper's cipher and compressor undone (eventsourcing's order)."""
    if getattr(mapper, "cipher", None) is not None:
        state = mapper.cipher.decrypt(state)
    if getattr(mapper, "compressor", None) is not None:
        state = mapper.compressor.decompress(state)
    return bytes(state)


def log_entries(recorder: Any, mapper: Any, after: int = 0) -> Iterator[LogEntry]:
    """Every notification of the log after position `after`, in order, with its plaintext state.

    `mapper` is required (the application's, e.g. `engine.mapper`): without it an encrypted
    store's leaves would cover ciphertext with random nonces, a tree no copy or export could match.
    """
    for page in pages(recorder, after):
        for n in page:
            yield LogEntry(n.id, n.originator_id, n.originator_version, n.topic, plaintext(mapper, n.state))


def log_leaves(recorder: Any, mapper: Any) -> list[bytes]:
    """The leaf hash of every notification in the log, in order (an eventsourcing recorder, and the mapper that wrote it)."""
    return [entry.leaf() for entry in log_entries(recorder, mapper)]
