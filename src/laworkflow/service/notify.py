"""Delivering notifications to people: the sinks and the delivery worker.

Telling people: a timer fired, a deadline was missed or is approaching, a parent could not react to its child,
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

from laworkflow.logs import get_logger

log = get_logger("laworkflow.notify")
BACKOFF_FIRST = timedelta(seconds=2)
BACKOFF_LONGEST = timedelta(hours=1)


def next_attempt(attempts: int, now: datetime) -> datetime:
    factor: int = 2 ** max(attempts - 1, 0)
    return now + min(BACKOFF_FIRST * factor, BACKOFF_LONGEST)


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
