"""The authority register: which authorities are in follow-up or due re-inspection, since when.

A projection of the event log. A state's `status` label in its definition
("in follow-up", "due re-inspection", "inspection") says how an authority with
a case in that state is listed; the label's start is when the case entered it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from laworkflow.cases.case import Case
from laworkflow.cases.migration_events import Migrated
from laworkflow.cases.withdrawal import Withdrawn
from laworkflow.projections.follower import Projection
from laworkflow.projections.followup import Pinned


@dataclass
class CaseRow:
    case_id: UUID
    authority: str
    nation: str
    workflow: str
    state: str
    status: str | None
    since: datetime
    ended: bool
    content_hash: str = ""
    findings: list[dict[str, Any]] = field(default_factory=list)  # {case_id, id, message, cites, effective_at}, in order


class AuthorityRegister(Projection):
    def __init__(self, pinned: Pinned):
        self.pinned = pinned  # the content each case pinned: the catalog's, or the stored record when its file changed
        self.rows: dict[UUID, CaseRow] = {}

    def apply(self, event: Any) -> None:
        if isinstance(event, Case.Started):
            workflow = self.pinned(event.definition_id, event.definition_version, event.definition_hash)
            state = workflow.definition.states[event.state]
            self.rows[event.originator_id] = CaseRow(
                event.originator_id,
                str(event.data.get("authority", "(no authority)")),
                workflow.definition.calendar,
                workflow.key,
                event.state,
                state.status,
                event.effective_at,
                state.terminal,
                event.definition_hash,
            )
        elif isinstance(event, Case.Transitioned) and event.originator_id in self.rows:
            row = self.rows[event.originator_id]
            workflow_id, version = row.workflow.rsplit("@", 1)
            state = self.pinned(workflow_id, int(version), row.content_hash).definition.states[event.target]
            if state.status != row.status:
                row.status, row.since = state.status, event.effective_at
            row.state, row.ended = event.target, state.terminal
        elif isinstance(event, Withdrawn) and event.originator_id in self.rows:  # withdrawn: the authority is no longer listed for it
            self.rows[event.originator_id].ended = True
        elif isinstance(event, Migrated) and event.originator_id in self.rows:  # on the new version from here
            row = self.rows[event.originator_id]
            workflow = self.pinned(row.workflow.rsplit("@", 1)[0], event.to_version, event.to_hash)
            state = workflow.definition.states[event.target_state]
            if state.status != row.status:
                row.status, row.since = state.status, event.effective_at
            row.workflow, row.content_hash, row.state, row.ended = workflow.key, event.to_hash, event.target_state, state.terminal
        elif isinstance(event, Case.FindingRecorded) and event.originator_id in self.rows:
            finding = {"case_id": str(event.originator_id), "id": event.finding_id, "message": event.message, "cites": event.cites}
            self.rows[event.originator_id].findings.append({**finding, "effective_at": event.effective_at})

    def listed(self, nation: str | None = None, status: str | None = None) -> list[CaseRow]:
        """Open cases with a status label, optionally for one nation or one status."""
        return [
            row
            for row in self.rows.values()
            if row.status is not None and not row.ended and (nation is None or row.nation == nation.lower()) and (status is None or row.status == status)
        ]

    def cases_of(self, authority: str) -> list[UUID]:
        return [row.case_id for row in self.rows.values() if row.authority == authority and not row.ended]
