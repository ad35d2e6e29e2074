"""Read models that follow the notification log, in order, from a position.

Each projection owns nothing: it is derived from the events and can be thrown
away and rebuilt. The engine decodes each new notification once and hands it
to every projection it keeps.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

from laworkflow.projections.collector import collector_paused

_BATCH = 1000


def pages(recorder: Any, after: int, size: int = _BATCH) -> Iterator[list[Any]]:
    """The notification log after position `after`, in order, a page of at most `size` at a time, up to its end.

    The one loop that reads the log in pages (followers, the in-memory timer index,
    what-if copies); readers that must re-read their position inside a transaction
    (the SQL timer index) or filter by topic (the follow-up manager) keep their own.
    Each page is read with the collector paused (projections.collector): the driver's
    rows and eventsourcing's notifications are many objects and no cycles.
    """
    while True:
        with collector_paused():
            page = recorder.select_notifications(after + 1, size)
        if page:
            yield page
            after = page[-1].id
        if len(page) < size:
            return


class Projection(ABC):
    """Folds domain events, one at a time, in log order."""

    @abstractmethod
    def apply(self, event: Any) -> None: ...


class Follower:
    """Reads the notification log from where it stopped and feeds every projection."""

    def __init__(self, *projections: Projection):
        self.projections = projections
        self.position = 0

    def follow(self, recorder: Any, mapper: Any) -> int:
        """Fold in every notification recorded since the last call; returns how many."""
        seen = 0
        for notifications in pages(recorder, self.position):
            for notification in notifications:
                event = mapper.to_domain_event(notification)
                for projection in self.projections:
                    projection.apply(event)
                self.position = notification.id
            seen += len(notifications)
        return seen
