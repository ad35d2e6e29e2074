"""Read models that follow the notification log, in order, from a position.

Each projection owns nothing: it is derived from the events and can be thrown
away and rebuilt. The engine decodes each new notification once and hands it
to every projection it keeps.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

_BATCH = 1000


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
        while True:
            notifications = recorder.select_notifications(self.position + 1, _BATCH)
            for notification in notifications:
                event = mapper.to_domain_event(notification)
                for projection in self.projections:
                    projection.apply(event)
                self.position = notification.id
            seen += len(notifications)
            if len(notifications) < _BATCH:
                return seen
