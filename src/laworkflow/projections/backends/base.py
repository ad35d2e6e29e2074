"""The timer index: armed timers and standing deadlines, kept beside the events.

A projection of the notification log (principle 1: delete it and it is rebuilt
from the events). Its rows and its position in the log change in one
transaction, so a crash never leaves them disagreeing, and a restart reads
only the pending rows — its cost follows the pending timers, not the history.
The same table holds the positions of the engine's other followers.

Three kinds, chosen with the store: in memory (tests), SQLite (one node) and
PostgreSQL, where several nodes claim due rows with `FOR UPDATE SKIP LOCKED`
so each fires once, and where the catch-up is serialised by a row lock on the
position.

Defence in depth: an event whose effect on the index cannot be worked out
(e.g. a year-9999 due date stored before dates were bounded), a stored row that
cannot be read back, or a due item whose handling failed is set aside in a
quarantine table beside the index — in the same transaction as the position —
with a notification of kind `item_quarantined`, and everything else goes on.
`laworkflow quarantine list` shows them; `release` tries one again.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from laworkflow.errors import NotQuarantined
from laworkflow.cases.views import DueItem, QuarantinedItem


TRACKING = "due-index"


class DueStore(ABC):
    """Where the armed timers and standing deadlines of every case are kept."""

    @abstractmethod
    def catch_up(self, recorder: Any, mapper: Any) -> int:
        """Fold in every notification recorded since the stored position; returns how many."""

    @abstractmethod
    def due(self, before: datetime | None = None) -> list[DueItem]:
        """Everything due by `before` (all when None), earliest first."""

    @abstractmethod
    def first(self, before: datetime) -> DueItem | None: ...

    @abstractmethod
    def claim(self, before: datetime, limit: int) -> Iterator[list[DueItem]]:
        """A context manager: items due by `before` that no other node is handling; released on exit."""

    @abstractmethod
    def done(self, item: DueItem) -> None:
        """The item was handled: drop it now rather than when its closing event is folded in."""

    @abstractmethod
    def restore(self, item: DueItem) -> None:
        """Put back an item a claim dropped but that could not be handled, so it is tried again."""

    @abstractmethod
    def position(self, name: str = TRACKING) -> int: ...

    @abstractmethod
    def set_position(self, name: str, position: int) -> None: ...

    @abstractmethod
    def reset(self) -> None:
        """Forget the index: the next catch-up rebuilds it from the first event (the outbox and other positions stay).

        The quarantine goes too: a rebuild tries every event again, and sets aside again what still fails.
        """

    # The quarantine: what the index set aside rather than stop for.

    @abstractmethod
    def quarantine_item(self, item: DueItem, error: BaseException) -> QuarantinedItem:
        """Set aside a due item whose handling failed: out of the index, recorded, notified, logged."""

    @abstractmethod
    def quarantined(self) -> list[QuarantinedItem]:
        """Everything set aside, in the order it was set aside."""

    def quarantined_entry(self, entry_id: str) -> QuarantinedItem:
        for entry in self.quarantined():
            if entry.id == entry_id:
                return entry
        raise NotQuarantined(f"nothing quarantined has the id {entry_id!r}; `laworkflow quarantine list` shows them")

    @abstractmethod
    def release(self, entry: QuarantinedItem, events: list[Any]) -> list[QuarantinedItem]:
        """Try an entry again: an item goes back into the index; an event is folded in again with the case's later `events`.

        Returns what is still set aside afterwards (the same event failing again, recorded anew).
        """

    # The outbox of notifications (projections/notifications.py builds them, service/notify.py delivers them): filled by catch-up in the same transaction as the position.

    @abstractmethod
    def enqueue(self, notifications: list[dict[str, Any]]) -> None:
        """Add notifications; one already there (same id) is left as it is."""

    @abstractmethod
    def claim_notifications(self, now: datetime, limit: int) -> Any:
        """A context manager: undelivered notifications whose next attempt is due, as (id, payload, attempts)."""

    @abstractmethod
    def notification_delivered(self, notification_id: str, at: datetime) -> None: ...

    @abstractmethod
    def notification_failed(self, notification_id: str, attempts: int, next_at: datetime, error: str) -> None: ...

    @abstractmethod
    def outbox(self) -> list[dict[str, Any]]:
        """Every notification with its delivery state, oldest first."""

    def close(self) -> None:
        """Release connections."""
