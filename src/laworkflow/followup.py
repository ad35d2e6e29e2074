"""The process manager between parent and child cases.

It follows the event log: when a child case enters a state its parent's
definition reacts to, the engine fires the parent's trigger, once. The parent
records `ChildReported` with the child's id and event version, so replaying
the log after a restart (or on another node) fires nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from .case import Case
from .catalog import Catalog
from .definition import Reaction
from .projection import Projection


@dataclass(frozen=True)
class PendingReaction:
    parent_id: UUID
    child_id: UUID
    child_version: int
    reaction: Reaction
    effective_at: datetime


class ChildFollower(Projection):
    """Turns child transitions into reactions the parent has still to take."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.cases: dict[UUID, tuple[str, int, UUID | None]] = {}  # case -> (workflow id, version, parent)
        self.pending: list[PendingReaction] = []

    def apply(self, event: Any) -> None:
        if isinstance(event, Case.Started):
            parent = UUID(event.parent_id) if event.parent_id else None
            self.cases[event.originator_id] = (event.definition_id, event.definition_version, parent)
        elif isinstance(event, Case.Transitioned):
            child = self.cases.get(event.originator_id)
            if child is None or child[2] is None or child[2] not in self.cases:
                return
            parent_id, version = child[2], self.cases[child[2]][1]
            parent_workflow = self.catalog.get(self.cases[parent_id][0], version)
            for reaction in parent_workflow.reactions_to.get(child[0], []):
                if event.target in reaction.reaches and event.source != event.target:
                    self.pending.append(
                        PendingReaction(parent_id, event.originator_id, event.originator_version, reaction, event.effective_at)
                    )

    def take(self) -> list[PendingReaction]:
        taken, self.pending = self.pending, []
        return taken
