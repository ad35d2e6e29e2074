"""Findings: what the documents say "normally" or "usually" happens, when it did not.

The engine does not refuse such a command; the same command records a
`Case.FindingRecorded` warning, which the case view and the authority register
show. A definition's `findings` say when: after a trigger in `on` (or the
start), every condition in `when` holding on the case as it then is. A case
started on a version outside that version's in-force window (named
explicitly, or a child following its parent's framework) records the finding
`out_of_force` when it starts.

This module imports nothing from storage, scheduling, HTTP or the CLI.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from laworkflow.definitions.guards import GuardContext, check_condition, describe
from laworkflow.definitions.machine import CompiledWorkflow
from laworkflow.definitions.model import Citation

OUT_OF_FORCE = "out_of_force"


def cite_text(cites: Citation | None) -> str:
    """A citation as one line: source and paragraph, with the choice made, if any."""
    if cites is None:
        return ""
    text = f"{cites.source} {cites.para}"
    return f"{text} (choice: {cites.choice.strip()})" if cites.choice else text


def findings_after(workflow: CompiledWorkflow, trigger: str, data: dict[str, Any], parameters: dict[str, Any], day: date) -> list[dict[str, Any]]:
    """The fields of each `FindingRecorded` a trigger (or `start`) records: its findings whose conditions all hold on `data`."""
    context = GuardContext(data, day, workflow.calendar, parameters)
    found = []
    for finding in workflow.definition.findings:
        if trigger in finding.on and all(check_condition(condition, context) for condition in finding.when):
            found.append(
                {
                    "finding_id": finding.id,
                    "trigger": trigger,
                    "message": finding.message,
                    "cites": cite_text(finding.cites),
                    "details": "; ".join(describe(condition, context) for condition in finding.when),
                }
            )
    return found


def out_of_force(workflow: CompiledWorkflow, day: date) -> dict[str, Any] | None:
    """The `out_of_force` finding of a case started on `day` on a version not in force then, else None."""
    definition = workflow.definition
    if definition.in_force_on(day):
        return None
    return {
        "finding_id": OUT_OF_FORCE,
        "trigger": "start",
        "message": f"{definition.key} is in force {definition.window()}; this case started on {day.isoformat()}, outside that window",
        "cites": cite_text(definition.in_force_cites),
        "details": f"started on {day.isoformat()}; window: {definition.window()}",
    }


__all__ = ["OUT_OF_FORCE", "cite_text", "findings_after", "out_of_force"]
