"""The notifications the log gives rise to: a timer fired, a deadline was missed or is approaching, a parent
could not react to its child, the timer index set an item aside.

They are derived from events (and, for "approaching", from a reminder in the
timer index) into the outbox kept beside the timer index, in the same
transaction as its log position; `laworkflow.service.notify` delivers them.
Built here, beneath the service, so the projections that fill the outbox need
nothing from the layer that sends it.
"""

from __future__ import annotations

from typing import Any

from laworkflow.cases.views import jsonable_dict


def notification_for(event: Any, workflow: str, position: int) -> dict[str, Any] | None:
    """The notification an event gives rise to, if any; its id makes redelivery recognisable."""
    from laworkflow.cases.case import Case  # here, not at the top: the views need no aggregate

    if isinstance(event, Case.TimerFired):
        kind, name, extra = "timer_fired", event.timer_id, {"due_at": event.due_at, "lateness_seconds": event.lateness_seconds}
    elif isinstance(event, Case.DeadlineMissed):
        kind, name, extra = "deadline_missed", event.deadline_id, {"due_date": event.due_date}
    elif isinstance(event, Case.ChildReported) and event.outcome.startswith("refused"):
        # A parent that could not take its reaction stays where it is: someone must look.
        kind, name, extra = "reaction_refused", event.reaction, {"child_id": event.child_id, "outcome": event.outcome}
    else:
        return None
    return jsonable_dict(
        {
            "id": f"{kind}:{event.originator_id}:{name}:{position}",
            "kind": kind,
            "case_id": event.originator_id,
            "workflow": workflow,
            "name": name,
            "effective_at": event.effective_at,
            **extra,
        }
    )


def reminder_notification(item: Any) -> dict[str, Any]:
    """A deadline is approaching: the reminder item of the timer index has fallen due."""
    return jsonable_dict(
        {
            "id": f"deadline_approaching:{item.case_id}:{item.name}:{item.due_at.date().isoformat()}",
            "kind": "deadline_approaching",
            "case_id": item.case_id,
            "workflow": item.workflow,
            "name": item.name,
            "detail": item.detail,
            "remind_at": item.due_at,
        }
    )


def quarantine_notification(entry: Any) -> dict[str, Any]:
    """The timer index set something aside (a QuarantinedItem): someone must look, fix and release it."""
    return jsonable_dict(
        {
            "id": f"item_quarantined:{entry.id}:{entry.quarantined_at.isoformat()}",
            "kind": "item_quarantined",
            "case_id": entry.case_id,
            "workflow": entry.workflow,
            "name": entry.name,
            "quarantine_id": entry.id,
            "source": entry.source,
            "item_kind": entry.kind,
            "position": entry.position,
            "error": entry.error,
            "quarantined_at": entry.quarantined_at,
        }
    )


__all__ = ["notification_for", "quarantine_notification", "reminder_notification"]
