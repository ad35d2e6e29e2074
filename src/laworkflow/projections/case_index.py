"""Every case as one row — workflow, authority, nation, state, status, data, when it started and last moved —
folded from the event log, so finding cases never loads them one by one.

Like the timer index it owns nothing: it is built from the events when an engine
starts and followed from there. It also reads a case id from a unique prefix of
it, as git reads a commit's, since the ids it holds are every case there is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from laworkflow.cases.case import Case
from laworkflow.cases.migration_events import Migrated
from laworkflow.cases.views import jsonable_dict
from laworkflow.cases.withdrawal import Withdrawn
from laworkflow.errors import UnknownCase
from laworkflow.projections.follower import Projection
from laworkflow.projections.followup import Pinned

MIN_PREFIX = 4  # hex digits of a case id prefix, as git asks of a commit's


@dataclass
class CaseSummary:
    """What a list of cases shows of one case, and what it filters and sorts on."""

    case_id: UUID
    workflow: str
    version: int
    content_hash: str
    nation: str
    state: str
    status: str | None  # the register's label of the state ("in follow-up", …), None when the state has none
    ended: bool
    started_at: datetime
    moved_at: datetime  # the effective time of its last transition; its start when it has taken none
    data: dict[str, Any]
    parent: UUID | None
    missed: list[str] = field(default_factory=list)  # deadlines recorded missed, in order, whatever came of them after

    @property
    def authority(self) -> str | None:
        value = self.data.get("authority")
        return None if value is None else str(value)

    def to_dict(self) -> dict[str, Any]:
        """As JSON: moments in UK time with their offset, as every view gives them."""
        return jsonable_dict(
            {
                "id": self.case_id,
                "workflow": self.workflow,
                "version": self.version,
                "authority": self.authority,
                "nation": self.nation,
                "state": self.state,
                "status": self.status,
                "ended": self.ended,
                "started_at": self.started_at,
                "moved_at": self.moved_at,
                "missed_deadlines": list(self.missed),
                "parent": self.parent,
                "data": self.data,
            }
        )


class CaseIndex(Projection):
    """One `CaseSummary` per case, in the order the cases started."""

    def __init__(self, pinned: Pinned):
        self.pinned = pinned  # the content each case pinned: its states' status labels and its nation
        self.rows: dict[UUID, CaseSummary] = {}

    def apply(self, event: Any) -> None:
        if isinstance(event, Case.Started):
            workflow = self.pinned(event.definition_id, event.definition_version, event.definition_hash).definition
            state = workflow.states[event.state]
            self.rows[event.originator_id] = CaseSummary(
                case_id=event.originator_id,
                workflow=event.definition_id,
                version=event.definition_version,
                content_hash=event.definition_hash,
                nation=workflow.calendar,
                state=event.state,
                status=state.status,
                ended=state.terminal,
                started_at=event.effective_at,
                moved_at=event.effective_at,
                data=dict(event.data),
                parent=UUID(event.parent_id) if event.parent_id else None,
            )
            return
        row = self.rows.get(event.originator_id)
        if row is None:
            return
        if isinstance(event, Case.Transitioned):
            state = self.pinned(row.workflow, row.version, row.content_hash).definition.states[event.target]
            row.state, row.status, row.ended = event.target, state.status, state.terminal
            row.data = {**row.data, **event.data}
            row.moved_at = event.effective_at
        elif isinstance(event, Case.DeadlineMissed) and event.deadline_id not in row.missed:
            row.missed.append(event.deadline_id)
        elif isinstance(event, Migrated):  # on the new version from here: its state and that state's label
            state = self.pinned(row.workflow, event.to_version, event.to_hash).definition.states[event.target_state]
            row.version, row.content_hash = event.to_version, event.to_hash
            row.state, row.status, row.ended = event.target_state, state.status, state.terminal
        elif isinstance(event, Withdrawn):  # ended where it stood; no longer listed under a status
            row.ended, row.status = True, None


def resolve_case_id(text: str, known: Callable[[], Iterable[UUID]]) -> UUID:
    """A full case id, or the one case whose id starts with `text` (at least MIN_PREFIX hex digits, dashes or not, any case).

    `known` is asked only for a prefix. Unknown, too short or ambiguous: UnknownCase, naming the matches of an ambiguous one.
    """
    try:
        return UUID(text)
    except ValueError:
        pass
    prefix = text.strip().lower()
    if len(prefix.replace("-", "")) < MIN_PREFIX or not re.fullmatch(r"[0-9a-f-]+", prefix):
        raise UnknownCase(f"{text!r} is not a case id: give a UUID or a unique prefix of at least {MIN_PREFIX} hex digits (e.g. 4f1c)")
    matches = sorted(cid for cid in known() if str(cid).startswith(prefix) or cid.hex.startswith(prefix.replace("-", "")))
    if not matches:
        raise UnknownCase(f"no case id starts with {text!r}")
    if len(matches) > 1:
        shown = ", ".join(str(cid) for cid in matches[:5]) + (f" and {len(matches) - 5} more" if len(matches) > 5 else "")
        raise UnknownCase(f"case id prefix {text!r} is ambiguous: it matches {shown}; give more digits")
    return matches[0]
