"""The process manager between parent and child cases.

It follows the event log: when a child case enters a state its parent's
definition reacts to, the engine fires the parent's trigger, once. The parent
records `ChildReported` with the child's id and event version, so replaying
the log after a restart (or on another node) fires nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from laworkflow.cases.case import Case
from laworkflow.cases.migration_events import Migrated
from laworkflow.definitions.machine import CompiledWorkflow
from laworkflow.definitions.model import Reaction
from laworkflow.projections.follower import Projection


@dataclass(frozen=True)
class PendingReaction:
    parent_id: UUID
    child_id: UUID
    child_version: int
    reaction: Reaction
    effective_at: datetime


Describe = Callable[[UUID], tuple[str, int, str, "UUID | None"]]  # case -> (workflow id, version, content hash, parent)
Pinned = Callable[[str, int, str], CompiledWorkflow]  # (workflow id, version, content hash) -> the workflow a case pinned


class ChildFollower(Projection):
    """Turns child transitions into reactions the parent has still to take.

    It needs no history: what it must know of a case (workflow, version,
    content hash, parent) it asks `describe`, which reads the case's first event,
    and keeps. A parent's reactions are those of the content it pinned, even
    when its file has changed since (`pinned` falls back to the stored record).
    """

    def __init__(self, pinned: Pinned, describe: Describe):
        self.pinned = pinned
        self.describe = describe
        self.cases: dict[UUID, tuple[str, int, str, UUID | None]] = {}
        self.pending: list[PendingReaction] = []

    def _case(self, case_id: UUID) -> tuple[str, int, str, UUID | None]:
        if case_id not in self.cases:
            self.cases[case_id] = self.describe(case_id)
        return self.cases[case_id]

    def apply(self, event: Any) -> None:
        if isinstance(event, Case.Started):
            parent = UUID(event.parent_id) if event.parent_id else None
            self.cases[event.originator_id] = (event.definition_id, event.definition_version, event.definition_hash, parent)
        elif isinstance(event, Migrated) and event.originator_id in self.cases:  # a migrated parent reacts as its new version says
            known = self.cases[event.originator_id]
            self.cases[event.originator_id] = (known[0], event.to_version, event.to_hash, known[3])
        elif isinstance(event, Case.Transitioned) and event.source != event.target:
            child = self._case(event.originator_id)
            if child[3] is None:
                return
            parent_id = child[3]
            parent_workflow = self.pinned(*self._case(parent_id)[:3])
            for reaction in parent_workflow.reactions_to.get(child[0], []):
                if event.target in reaction.reaches:
                    self.pending.append(PendingReaction(parent_id, event.originator_id, event.originator_version, reaction, event.effective_at))

    def take(self) -> list[PendingReaction]:
        taken, self.pending = self.pending, []
        return taken


def copy_data(spec: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    """Data for another case: '=field' copies the source's field (left out when it has none), anything else is literal."""
    copied = {}
    for key, value in spec.items():
        if isinstance(value, str) and value.startswith("="):
            if source.get(value[1:]) is not None:
                copied[key] = source[value[1:]]
        else:
            copied[key] = value
    return copied
