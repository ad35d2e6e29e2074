"""Events a back office records on a case outside its workflow: withdrawing it, marking a bulk operation, reassigning its work.

No workflow has a trigger to say "this case was opened by mistake", and none
should: withdrawal is the engine's, open to every case whatever its
definition. `Withdrawn` ends the case where it stands — its state is kept, so
the record shows where it was — and, in the same save, its armed timers are
cancelled (`TimerCancelled`) and its pending or missed deadlines withdrawn
(`DeadlineWithdrawn`), each with the reason, so the timer index drops them.
After it, `Case.fire` refuses with `CaseWithdrawn` and reactions to children are
no longer taken; its children go on (they are withdrawn on their own if need be).

`BulkApplied` is recorded in the same save as what a bulk operation did to a
case (`laworkflow.bulk`): it names the operation, so a rerun after a crash can
tell the cases already done from those still to do. `Withdrawn` and
`Reassigned` carry the operation id themselves.

`Reassigned` says who is now responsible for the case's pending work (its
armed timers and standing deadlines), replacing whoever was: the actor of its
last person's command (`responsible`), until a reassignment names another.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from laworkflow.cases.case import SYSTEM_ACTOR, Case
from laworkflow.definitions.machine import CompiledWorkflow
from laworkflow.errors import InvalidData, TriggerNotAllowed

_ENGINE_ACTORS = ("timer:", "child:")  # prefixes of the actors the engine records for timers and reactions


class Withdrawn(Case.Event):
    """The case was withdrawn: opened by mistake, or no longer to be pursued; it takes no further command."""

    reason: str
    operation_id: str | None

    def change(self, case: Case) -> None:
        case.__dict__["withdrawn"] = {"by": self.actor, "at": self.effective_at, "reason": self.reason, "operation_id": self.operation_id}
        _add_operation(case, self.operation_id)


class BulkApplied(Case.Event):
    """What a bulk operation did to this case (the events before it in the same save), under the operation's id."""

    operation_id: str
    operation: str
    reason: str | None

    def change(self, case: Case) -> None:
        _add_operation(case, self.operation_id)


class Reassigned(Case.Event):
    """Who is now responsible for the case's pending work (its armed timers and standing deadlines)."""

    from_actor: str
    to_actor: str
    reason: str | None
    operation_id: str | None

    def change(self, case: Case) -> None:
        case.__dict__["responsible"] = self.to_actor
        _add_operation(case, self.operation_id)


def _add_operation(case: Case, operation_id: str | None) -> None:
    if operation_id is not None:
        case.__dict__["bulk_operations"] = [*operations_of(case), operation_id]


def operations_of(case: Case) -> list[str]:
    """The ids of the bulk operations recorded on the case, in order."""
    return list(case.__dict__.get("bulk_operations", []))


def withdrawn_of(case: Case) -> dict[str, Any] | None:
    """{by, at, reason, operation_id} of a withdrawn case; None for one that was not."""
    value = case.__dict__.get("withdrawn")
    return dict(value) if value is not None else None


def responsible(case: Case, events: list[Any]) -> str | None:
    """Who answers for the case's pending work: the last reassignment's `to_actor`, else the actor of its last person's command.

    `events` are the case's stored events. The scheduler's (`system`), a timer's and a reaction's events are not a person's.
    """
    found = None
    for event in events:
        if isinstance(event, Reassigned):
            found = event.to_actor
        elif isinstance(event, (Case.Started, Case.Transitioned)) and event.actor != SYSTEM_ACTOR and not event.actor.startswith(_ENGINE_ACTORS):
            found = event.actor
    return found


def withdraw(case: Case, workflow: CompiledWorkflow, *, reason: str, actor: str, at: datetime, operation_id: str | None = None) -> None:
    """Record the withdrawal: missed deadlines up to `at` first (as every command does), then `Withdrawn`, its timers and deadlines.

    Refused, with nothing recorded, for a case already withdrawn (CaseWithdrawn), one that has ended
    (TriggerNotAllowed), or a time before its last event (BadTime).
    """
    at = case._check_time(at)  # refuses a withdrawn case, and a time before its last event
    if workflow.is_terminal(case.state):
        raise TriggerNotAllowed(f"case {case.id} has ended (state {case.state!r}); there is nothing to withdraw")
    if not reason.strip():
        raise InvalidData("a withdrawal needs a reason: say why the case is withdrawn")
    plan = case._plan(workflow)
    plan.missed_deadlines(at)
    because = f"case withdrawn: {reason}"
    events: list[tuple[type[Case.Event], dict[str, Any]]] = [(getattr(Case, kind), fields) for kind, fields in plan.events]
    events.append((Withdrawn, {"actor": actor, "effective_at": at, "reason": reason, "operation_id": operation_id}))
    for timer_id in sorted(plan.timers):
        events.append((Case.TimerCancelled, {"actor": actor, "effective_at": at, "timer_id": timer_id, "reason": because}))
    for deadline_id, entry in plan.deadlines.items():
        if entry["status"] in ("pending", "missed"):
            events.append((Case.DeadlineWithdrawn, {"actor": actor, "effective_at": at, "deadline_id": deadline_id, "reason": because}))
    for event_class, fields in events:
        case._record(event_class, **fields)


HEADS = (Withdrawn, Reassigned)  # the events that begin a command of their own (`audit.commands`)


def take_again(case: Case, workflow: CompiledWorkflow, head: Any) -> None:
    """Record again, on a copy of the case as stored before it, what a stored `Withdrawn` or `Reassigned` did (conformance replay)."""
    if isinstance(head, Withdrawn):
        withdraw(case, workflow, reason=head.reason, actor=head.actor, at=head.effective_at, operation_id=head.operation_id)
    else:
        at = case._check_time(head.effective_at)
        fields = {"from_actor": head.from_actor, "to_actor": head.to_actor, "reason": head.reason, "operation_id": head.operation_id}
        case._record(Reassigned, actor=head.actor, effective_at=at, **fields)


def mark_again(case: Case, stored: list[Any]) -> None:
    """Record again the `BulkApplied` a stored command ends with, if any: a bulk operation's mark on the trigger it fired (conformance replay)."""
    for event in stored:
        if isinstance(event, BulkApplied):
            case._record(
                BulkApplied, actor=event.actor, effective_at=event.effective_at, operation_id=event.operation_id, operation=event.operation, reason=event.reason
            )


def record(case: Case, event_class: type[Case.Event], **fields: Any) -> None:
    """Record one of this module's events on the case, chained as every event is (saved by the caller)."""
    case._record(event_class, **fields)


__all__ = ["HEADS", "BulkApplied", "Reassigned", "Withdrawn", "mark_again", "operations_of", "record", "responsible", "take_again", "withdraw", "withdrawn_of"]
