"""A case as queries and commands answer with it: the `CaseView` of the aggregate on its pinned workflow."""

from __future__ import annotations

from datetime import date, datetime

from laworkflow.cases.case import Case
from laworkflow.cases.views import CaseView
from laworkflow.cases.withdrawal import withdrawn_of
from laworkflow.definitions.machine import CompiledWorkflow


def case_view(case: Case, workflow: CompiledWorkflow, as_of: datetime | None = None, known_on: date | None = None) -> CaseView:
    """The view of `case`; `workflow` is the one it pinned, which says whether its state has ended it."""
    return CaseView(
        id=case.id,
        workflow=case.definition_id,
        version=case.definition_version,
        definition_hash=case.definition_hash,
        state=case.state,
        ended=workflow.is_terminal(case.state) or withdrawn_of(case) is not None,
        data=case.data,
        parameters=case.parameters,
        timers=case.timers,
        deadlines=case.deadlines,
        parent=case.parent_id,
        children=case.children,
        events=case.version,
        last_effective_at=case.effective_at,
        as_of=as_of,
        known_on=known_on,
        findings=case.findings,
        withdrawn=withdrawn_of(case),
        responsible=case.__dict__.get("responsible"),
    )


__all__ = ["case_view"]
