"""A definition version's full content, kept in the event store beside the cases that pinned it.

A case pins (definition id, version, content hash). The YAML file that gave
that content may be edited or removed later; the case must still be shown,
verified, exported and replayed on the content it ran on. So the first case
to pin a content hash is saved together with one `DefinitionRecord` holding
the definition's canonical model JSON: the very dict whose SHA-256 is the
hash (`Definition.content_hash`). Its id is derived from the hash, so there
is at most one record per content however many cases and nodes pin it (a
second writer's insert fails on the id and is retried without it); its one
event is in the notification log like every other, so the audit Merkle tree
covers it.

The record is trusted only after the hash of its content is recomputed and
matches: a stored definition edited in the database is refused, not run.
The YAML text is not kept: the model JSON is what the hash covers, and it is
all compiling needs.

This module imports nothing from storage.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from laworkflow.definitions.machine import CompiledWorkflow
from laworkflow.definitions.model import Definition

NAMESPACE = UUID("5b0d6f3e-9a41-5c1e-8f2d-3c7a1e4b9d60")
"""Our fixed uuid5 namespace: a record's id is uuid5(NAMESPACE, content hash), the same on every node and in every store."""


def record_id(content_hash: str) -> UUID:
    """The id of the record of the definition content with this hash."""
    return uuid5(NAMESPACE, content_hash)


def content_of(definition: Definition) -> dict[str, Any]:
    """The canonical model JSON of a definition: what `Definition.content_hash` hashes."""
    return definition.model_dump(mode="json", by_alias=True)


def hash_of(content: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of stored content; the same recipe as `Definition.content_hash`."""
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class DefinitionRecord(Aggregate):
    """One definition version's content, by hash; written once, never changed."""

    class Recorded(Aggregate.Created):
        definition_id: str
        definition_version: int  # not `version`: that is the aggregate's own event count
        content_hash: str
        content: dict[str, Any]

    def __init__(self, definition_id: str, definition_version: int, content_hash: str, content: dict[str, Any]) -> None:
        self.definition_id = definition_id
        self.definition_version = definition_version
        self.content_hash = content_hash
        self.content = content

    @classmethod
    def of(cls, workflow: CompiledWorkflow) -> DefinitionRecord:
        """The record of a compiled workflow's content, not yet saved."""
        d = workflow.definition
        return cls._create(
            cls.Recorded,
            id=record_id(workflow.content_hash),
            definition_id=d.id,
            definition_version=d.version,
            content_hash=workflow.content_hash,
            content=content_of(d),
        )

    def problem(self, definition_id: str, version: int, content_hash: str) -> str | None:
        """Why this record cannot stand for the definition a case pinned, or None when it can."""
        if (self.definition_id, self.definition_version, self.content_hash) != (definition_id, version, content_hash):
            return f"the stored record is of {self.definition_id}@{self.definition_version} ({self.content_hash[:12]}), not {definition_id}@{version} ({content_hash[:12]})"
        actual = hash_of(self.content)
        if actual != content_hash:
            return f"the stored content of {definition_id}@{version} hashes to {actual[:12]}, not {content_hash[:12]}: it was altered in the store"
        return None

    def definition(self) -> Definition:
        """The stored content as a Definition (validated again by the model)."""
        return Definition.model_validate(self.content)


__all__ = ["NAMESPACE", "DefinitionRecord", "content_of", "hash_of", "record_id"]
