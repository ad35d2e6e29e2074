"""`laworkflow export`: the whole log, or some cases of it, written as one bundle (see `bundle`).

The log is read once; the checkpoint, every inclusion proof and every line come
from that one reading, so a bundle is consistent even while the engine writes.
The checkpoint always covers the whole log: a filtered bundle holds the
selected cases' events (every event of each) with their proofs in that tree.

Filters combine with "and": `--case` (repeatable: any of them), `--authority`
(the Started event's data["authority"], compared case-insensitively),
`--workflow ID[@N]` (the definition the case pinned), `--from`/`--to` (the UK
day the case started on, both ends included). A child case is selected on its
own Started event, like any case; it is not added because its parent is.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.utils import get_topic

from laworkflow.audit import bundle, checkpoint, merkle
from laworkflow.audit.bundle import BundleError, Line
from laworkflow.audit.leaves import LogEntry, log_entries
from laworkflow.calendar.clock import uk_date
from laworkflow.cases.case import Case
from laworkflow.cases.migration_events import Migrated
from laworkflow.cases.topics import topics_of
from laworkflow.engine import Engine
from laworkflow.errors import InvalidData

STARTED_TOPICS = frozenset(topics_of(Case.Started))
MIGRATED_TOPIC = get_topic(Migrated)


@dataclass(frozen=True)
class Selection:
    """Which cases to export; all empty means the whole log (a complete bundle)."""

    cases: Sequence[UUID] = ()
    authority: str | None = None
    workflow: str | None = None
    start: date | None = None
    end: date | None = None

    @property
    def complete(self) -> bool:
        return not self.cases and self.authority is None and self.workflow is None and self.start is None and self.end is None

    def workflow_key(self) -> tuple[str, int | None] | None:
        if self.workflow is None:
            return None
        name, sep, version = self.workflow.partition("@")
        if not name or (sep and not version.isdigit()):
            raise InvalidData(f"--workflow takes ID or ID@VERSION (e.g. ofsted-laassi@1), got {self.workflow!r}")
        return name, int(version) if sep else None

    def matches(self, case_id: UUID, started: dict[str, Any]) -> bool:
        if self.cases and case_id not in self.cases:
            return False
        if self.authority is not None:
            authority = (started.get("data") or {}).get("authority")
            if not isinstance(authority, str) or authority.casefold() != self.authority.casefold():
                return False
        key = self.workflow_key()
        if key is not None and (started.get("definition_id") != key[0] or (key[1] is not None and started.get("definition_version") != key[1])):
            return False
        day = uk_date(datetime.fromisoformat(started["effective_at"]))
        return not ((self.start is not None and day < self.start) or (self.end is not None and day > self.end))

    def to_json(self) -> dict[str, Any]:
        return {
            "cases": [str(c) for c in self.cases],
            "authority": self.authority,
            "workflow": self.workflow,
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
        }


@dataclass
class Exported:
    """What was written: the manifest's figures, for the command to print."""

    path: Path
    events: int
    cases: int
    definitions: int
    tree_size: int
    root: str
    signed: bool
    complete: bool
    manifest: dict[str, Any] = field(default_factory=dict)


def _signer() -> Ed25519PrivateKey | None:
    """The operator's checkpoint key when one is configured; an unsigned tree head otherwise."""
    return checkpoint.signer_from_file() if os.environ.get(checkpoint.KEY_ENV) else None


def export(engine: Engine, out: Path, selection: Selection) -> Exported:
    """Write a bundle of the engine's log (or the selected cases) to `out`."""
    if selection.start and selection.end and selection.start > selection.end:
        raise InvalidData(f"--from {selection.start.isoformat()} is after --to {selection.end.isoformat()}")
    selection.workflow_key()  # a malformed --workflow is refused before anything is read
    key = _signer()
    entries: list[LogEntry] = list(log_entries(engine.recorder, engine.mapper))
    top, proofs = merkle.inclusion_proofs([entry.leaf() for entry in entries])
    started: dict[UUID, dict[str, Any]] = {}
    migrated: list[tuple[UUID, dict[str, Any]]] = []  # a migrated case pins its new version from there: shipped too
    lines: list[Line] = []
    for index, entry in enumerate(entries):
        event = bundle.readable(entry.state)
        if entry.topic in STARTED_TOPICS and entry.version == 1:
            started[entry.originator_id] = event
        elif entry.topic == MIGRATED_TOPIC:
            migrated.append((entry.originator_id, event))
        lines.append(Line(index, entry, event, proofs[index]))
    chosen = {cid for cid, event in started.items() if selection.complete or selection.matches(cid, event)}
    if not selection.complete:
        if not chosen:
            raise BundleError(f"no case matches the selection ({_describe(selection)}); nothing was written")
        lines = [line for line in lines if line.entry.originator_id in chosen]
    pins = [(cid, started[cid]) for cid in chosen]
    pins += [(cid, {**started[cid], "definition_version": m["to_version"], "definition_hash": m["to_hash"]}) for cid, m in migrated if cid in chosen]
    definitions, cases = _definitions(engine, pins), _cases(lines, started, chosen)
    head = checkpoint.Checkpoint(checkpoint.ORIGIN, len(entries), top)
    members: dict[str, bytes] = {bundle.EVENTS: bundle.events_member(lines)}
    if key is not None:
        members[bundle.CHECKPOINT] = checkpoint.sign(head, key).encode("utf-8")
        members[bundle.PUBLIC_KEY] = checkpoint.public_pem(key)
    else:
        members[bundle.CHECKPOINT] = head.body().encode("utf-8")
    for content_hash, (_, content) in sorted(definitions.items()):
        members[f"{bundle.DEFINITIONS}{content_hash}.json"] = content
    manifest: dict[str, Any] = {
        "format": bundle.FORMAT,
        "format_version": bundle.FORMAT_VERSION,
        "digest_recipe": bundle.DIGEST_RECIPE,
        "leaf_encoding": bundle.LEAF_ENCODING,
        "complete": selection.complete,
        "selection": selection.to_json(),
        "signed": key is not None,
        "tree": {"origin": head.origin, "size": head.size, "root": head.root.hex()},
        "counts": {"events": len(lines), "cases": len(cases), "definitions": len(definitions)},
        "cases": cases,
        "definitions": {content_hash: key_ for content_hash, (key_, _) in sorted(definitions.items())},
    }
    bundle.write(out, members, manifest)
    return Exported(out, len(lines), len(cases), len(definitions), head.size, head.root.hex(), key is not None, selection.complete, manifest)


def _describe(selection: Selection) -> str:
    return ", ".join(f"{name} {value}" for name, value in selection.to_json().items() if value) or "everything"


def _cases(lines: list[Line], started: dict[UUID, dict[str, Any]], chosen: set[UUID]) -> list[dict[str, Any]]:
    """Each exported case in the order it started: its workflow, event count and head digest."""
    counts: dict[UUID, int] = {}
    heads: dict[UUID, str] = {}
    for line in lines:
        cid = line.entry.originator_id
        if cid in chosen:
            counts[cid] = counts.get(cid, 0) + 1
            heads[cid] = str(line.event.get("digest"))
    return [
        {"id": str(cid), "workflow": f"{started[cid]['definition_id']}@{started[cid]['definition_version']}", "events": counts[cid], "head": heads[cid]}
        for cid in counts
    ]


def _definitions(engine: Engine, pins: list[tuple[UUID, dict[str, Any]]]) -> dict[str, tuple[str, bytes]]:
    """The full content of every definition the exported cases pinned, at their start or by a migration: content hash → (id@version, canonical JSON)."""
    found: dict[str, tuple[str, bytes]] = {}
    for cid, event in pins:
        pinned = event["definition_hash"]
        if pinned in found:
            continue
        compiled = engine.definitions.exact(event["definition_id"], event["definition_version"], pinned)  # word for word, not today's words
        content = canonical_definition(compiled.definition.model_dump(mode="json", by_alias=True))
        if bundle.sha256_hex(content) != pinned:  # the definition's own content_hash recipe, checked before it is shipped
            raise BundleError(f"definition {compiled.key} does not hash to the {pinned[:12]} case {cid} pinned; nothing was written")
        found[pinned] = (compiled.key, content)
    return found


def canonical_definition(model: dict[str, Any]) -> bytes:
    """definitions.model.Definition.content_hash's encoding: sorted keys, no spaces, ASCII escapes."""
    return json.dumps(model, sort_keys=True, separators=(",", ":")).encode()


__all__ = ["Exported", "Selection", "export"]
