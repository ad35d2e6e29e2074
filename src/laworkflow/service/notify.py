"""Telling people: a timer fired, a deadline was missed or is approaching, a parent could not react to its child,
the timer index set an item aside.

Notifications are derived from events (and, for "approaching", from a reminder
in the timer index) into an outbox kept beside the timer index, in the same
transaction as its log position — so none is lost to a crash. A delivery
worker sends each to every sink and marks it delivered only when all accepted
it; a failure is retried with exponential back-off. Delivery is therefore at
least once: a receiver should use the notification `id` to drop repeats.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from datetime import datetime, timedelta
from typing import Any

import httpx

from .logs import get_logger
from .views import jsonable

log = get_logger("laworkflow.notify")
BACKOFF_FIRST = timedelta(seconds=2)
BACKOFF_LONGEST = timedelta(hours=1)


def notification_for(event: Any, workflow: str, position: int) -> dict[str, Any] | None:
    """The notification an event gives rise to, if any; its id makes redelivery recognisable."""
    from .case import Case

    if isinstance(event, Case.TimerFired):
        kind, name, extra = "timer_fired", event.timer_id, {"due_at": event.due_at, "lateness_seconds": event.lateness_seconds}
    elif isinstance(event, Case.DeadlineMissed):
        kind, name, extra = "deadline_missed", event.deadline_id, {"due_date": event.due_date}
    elif isinstance(event, Case.ChildReported) and event.outcome.startswith("refused"):
        # A parent that could not take its reaction stays where it is: someone must look.
        kind, name, extra = "reaction_refused", event.reaction, {"child_id": event.child_id, "outcome": event.outcome}
    else:
        return None
    return jsonable({
        "id": f"{kind}:{event.originator_id}:{name}:{position}",
        "kind": kind, "case_id": event.originator_id, "workflow": workflow, "name": name,
        "effective_at": event.effective_at, **extra,
    })


def reminder_notification(item: Any) -> dict[str, Any]:
    """A deadline is approaching: the reminder item of the timer index has fallen due."""
    return jsonable({
        "id": f"deadline_approaching:{item.case_id}:{item.name}:{item.due_at.date().isoformat()}",
        "kind": "deadline_approaching", "case_id": item.case_id, "workflow": item.workflow, "name": item.name,
        "detail": item.detail, "remind_at": item.due_at,
    })


def quarantine_notification(entry: Any) -> dict[str, Any]:
    """The timer index set something aside (a QuarantinedItem): someone must look, fix and release it."""
    return jsonable({
        "id": f"item_quarantined:{entry.id}:{entry.quarantined_at.isoformat()}",
        "kind": "item_quarantined", "case_id": entry.case_id, "workflow": entry.workflow, "name": entry.name,
        "quarantine_id": entry.id, "source": entry.source, "item_kind": entry.kind, "position": entry.position,
        "error": entry.error, "quarantined_at": entry.quarantined_at,
    })


def next_attempt(attempts: int, now: datetime) -> datetime:
    return now + min(BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), BACKOFF_LONGEST)


class Sink(ABC):
    """Somewhere notifications go; raises when it did not take one."""

    name = "sink"

    @abstractmethod
    def deliver(self, notification: dict[str, Any]) -> None: ...


class LogSink(Sink):
    """The structured log: always on, so an operator sees what was sent."""

    name = "log"

    def deliver(self, notification: dict[str, Any]) -> None:
        log.info("notification", **{k: v for k, v in notification.items() if k != "event"}, notification_kind=notification["kind"])


class WebhookSink(Sink):
    """HTTP POST of the notification as JSON; any non-2xx answer is a failure to retry."""

    name = "webhook"

    def __init__(self, url: str, *, timeout: float = 10.0):
        self.url = url
        self.timeout = timeout

    def deliver(self, notification: dict[str, Any]) -> None:
        response = httpx.post(self.url, content=json.dumps(notification), headers={"Content-Type": "application/json"}, timeout=self.timeout)
        response.raise_for_status()


def deliver_pending(store: Any, sinks: list[Sink], now: datetime, *, limit: int = 100) -> tuple[int, int]:
    """Send what is due to be sent; returns (delivered, failed)."""
    delivered = failed = 0
    with store.claim_notifications(now, limit) as pending:
        for notification_id, payload, attempts in pending:
            try:
                for sink in sinks:
                    sink.deliver(payload)
            except Exception as error:  # any sink failure: try again later, never lose it
                failed += 1
                store.notification_failed(notification_id, attempts + 1, next_attempt(attempts + 1, now), f"{type(error).__name__}: {error}")
                log.warning("notification.retry", id=notification_id, attempts=attempts + 1, error=str(error))
            else:
                delivered += 1
                store.notification_delivered(notification_id, now)
    return delivered, failed
