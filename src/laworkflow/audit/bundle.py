"""The export bundle's format: one zip file an auditor can take away and check with no engine.

Members (in this order, each stored with the same fixed time and mode, so the
same log and selection always give the same bytes):

- `manifest.json`: what the bundle is (format, selection, complete or filtered,
  counts, the cases with their event counts and head digests, the tree size and
  root, the recipe versions) and the SHA-256 of every other member;
- `events.jsonl`: one line per stored event, in log order, each an RFC 8785
  canonical JSON object (`line`);
- `checkpoint`: the C2SP signed note of the whole log at export time (or, with
  no key configured, its unsigned body: origin, size, root);
- `checkpoint.pub.pem`: the signer's public key, when signed;
- `definitions/<content hash>.json`: each definition the cases pinned, as the
  canonical JSON its content hash is the SHA-256 of.

A zip rather than a tar or a folder: one file to hand over, members read
without unpacking, the standard library reads it everywhere (`zipfile`), and
its per-member CRC catches transport damage before any digest is compared.
The recipe every member follows is the README's "Checking a record without
the engine"; `offline` checks it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import rfc8785

from laworkflow.audit.leaves import LogEntry
from laworkflow.errors import LaworkflowError

FORMAT = "laworkflow-bundle"
FORMAT_VERSION = 1
DIGEST_RECIPE = 1  # cases.case.event_digest over the decoded state, README "Checking a record without the engine"
LEAF_ENCODING = 1  # audit.leaves
MANIFEST = "manifest.json"
EVENTS = "events.jsonl"
CHECKPOINT = "checkpoint"
PUBLIC_KEY = "checkpoint.pub.pem"
DEFINITIONS = "definitions/"
LINE_FIELDS = ("leaf_index", "notification_id", "originator_id", "version", "topic", "state", "event", "leaf_hash", "digest", "proof")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no export time leaks into the bytes
MAX_MEMBER_BYTES = 4 << 30  # a member claiming more is not read (a zip bomb is refused, not inflated)


class BundleError(LaworkflowError, ValueError):
    """A file that is not a readable bundle (not a zip, no manifest, an unknown format), or an export that selects nothing."""

    code = "bad_bundle"


class ImportRefused(LaworkflowError):
    """A bundle that cannot be imported here: a store that is not empty, a filtered bundle, one that does not verify."""

    code = "import_refused"


def canonical(value: Any) -> bytes:
    """RFC 8785 (JSON Canonicalization Scheme) bytes of a JSON value."""
    return rfc8785.dumps(value)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class TranscodedValueError(ValueError):
    """A transcoded value (`{"_type_": …, "_data_": …}`) of a type the recipe does not know."""


def _readable_object(pairs: dict[str, Any]) -> Any:
    """eventsourcing's JSONTranscoder forms, as the digest recipe writes them (cases.digest._canonical)."""
    if len(pairs) == 2 and "_type_" in pairs and "_data_" in pairs:
        kind, data = pairs["_type_"], pairs["_data_"]
        if kind == "datetime_iso" and isinstance(data, str):
            return datetime.fromisoformat(data).astimezone(UTC).isoformat()
        if kind == "uuid_hex" and isinstance(data, str):
            return str(UUID(data))
        if kind == "decimal_str" and isinstance(data, str):
            return data
        raise TranscodedValueError(f"unknown transcoded type {kind!r}")
    return pairs


def readable(state: bytes) -> dict[str, Any]:
    """A stored state (the transcoder's JSON) decoded for reading and for the digest: datetimes as UTC ISO text, UUIDs as text."""
    value = json.loads(state.decode("utf-8"), object_hook=_readable_object)
    if not isinstance(value, dict):
        raise TranscodedValueError("state is not a JSON object")
    return value


def qualname(topic: str) -> str:
    """The event class's qualified name from its topic (`module:Class.Event`): the digest's "type"."""
    return topic.partition(":")[2]


@dataclass(frozen=True)
class Line:
    """One stored event as a line of `events.jsonl`."""

    index: int
    entry: LogEntry
    event: dict[str, Any]
    proof: list[bytes]

    def to_json(self) -> dict[str, Any]:
        digest = self.event.get("digest") if "prev_hash" in self.event else None  # a case's chain digest (a key's "digest" is not one)
        return {
            "leaf_index": self.index,
            "notification_id": self.entry.notification_id,
            "originator_id": str(self.entry.originator_id),
            "version": self.entry.version,
            "topic": self.entry.topic,
            "state": base64.b64encode(self.entry.state).decode("ascii"),
            "event": self.event,
            "leaf_hash": self.entry.leaf().hex(),
            "digest": digest if isinstance(digest, str) else None,
            "proof": [p.hex() for p in self.proof],
        }


def events_member(lines: list[Line]) -> bytes:
    return b"".join(canonical(line.to_json()) + b"\n" for line in lines)


def write(path: Path, members: Mapping[str, bytes], manifest: dict[str, Any]) -> bytes:
    """Write the zip (manifest first, then the members in the given order) with fixed times; returns the manifest's bytes."""
    manifest = {**manifest, "members": {name: sha256_hex(data) for name, data in members.items()}}
    manifest_bytes = canonical(manifest) + b"\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in [(MANIFEST, manifest_bytes), *members.items()]:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    try:
        path.write_bytes(buffer.getvalue())
    except OSError as error:
        raise BundleError(f"cannot write {path.name!r}: {error.strerror}") from None
    return manifest_bytes


def read(path: Path) -> dict[str, bytes]:
    """Every member of a bundle file, by name; BundleError for a file that is not a zip or cannot be read."""
    try:
        with zipfile.ZipFile(path) as archive:
            members: dict[str, bytes] = {}
            for info in archive.infolist():
                if info.file_size > MAX_MEMBER_BYTES:
                    raise BundleError(f"{path.name}: member {info.filename!r} claims {info.file_size} bytes, more than a bundle member may hold")
                if info.filename in members:
                    raise BundleError(f"{path.name}: member {info.filename!r} appears twice")
                members[info.filename] = archive.read(info)
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError) as error:
        if isinstance(error, BundleError):
            raise
        raise BundleError(f"{path.name} is not a readable bundle (a zip file): {error}") from None
    return members


__all__ = [
    "BundleError",
    "ImportRefused",
    "Line",
    "canonical",
    "events_member",
    "qualname",
    "read",
    "readable",
    "write",
]
