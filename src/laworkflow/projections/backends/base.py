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
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any
from uuid import UUID

from laworkflow.cases.views import DueItem, QuarantinedItem
from laworkflow.errors import NotQuarantined
from laworkflow.projections.quarantine import event_entry

TRACKING = "due-index"


def follows(position: int, known: Sequence[tuple[int, Any]]) -> bool:
    """Whether `known` (notification id, event) are exactly the notifications after `position`: consecutive ids from the next."""
    return bool(known) and all(notification_id == position + 1 + offset for offset, (notification_id, _) in enumerate(known))


def decode(notifications: Sequence[Any], mapper: Any) -> tuple[list[tuple[int, Any]], list[QuarantinedItem]]:
    """The domain events of stored notifications, with their ids; one that no longer decodes is set aside, not raised."""
    decoded: list[tuple[int, Any]] = []
    set_aside: list[QuarantinedItem] = []
    for notification in notifications:
        try:
            decoded.append((notification.id, mapper.to_domain_event(notification)))
        except Exception as error:  # a stored event that no longer decodes: set aside, go on
            set_aside.append(event_entry(notification, error, "?", notification.id))
    return decoded, set_aside


class Positions(ABC):
    """How far each follower of the log has read: a notification id per name, kept beside the rows it explains."""

    @abstractmethod
    def position(self, name: str = TRACKING) -> int:
        """The id of the last notification the follower `name` has folded in; 0 before the first."""

    @abstractmethod
    def set_position(self, name: str, position: int) -> None:
        """Record that `name` has folded in everything up to `position`."""


class TimerIndex(ABC):
    """The armed timers, standing deadlines and reminders of every case, folded from the log.

    Catching up folds every notification after the stored position and moves
    the position in the same transaction as the rows, so the two never disagree.
    Claiming hands out due items that no other node holds (PostgreSQL locks the
    rows, `FOR UPDATE SKIP LOCKED`; one node per SQLite file has nothing to lock
    against) for the length of the `with` block, and drops them from the index
    when the block ends: they were handled. An item that could not be handled is
    put back afterwards with `restore` (tried again) or `quarantine_item` (set
    aside). Handling must be idempotent (principle 5): the command on the case
    refuses a timer already fired, so two claimers racing produce one event.
    """

    shared = False  # several nodes write the store (PostgreSQL): a node's cached case may be behind what another saved

    @abstractmethod
    def catch_up(self, recorder: Any, mapper: Any, known: Sequence[tuple[int, Any]] = (), workflows: Mapping[UUID, str] | None = None) -> int:
        """Fold in every notification recorded since the stored position; returns how many.

        `known` is what the caller has just saved, (notification id, domain event)
        as `Application.save` returned them: when they are exactly the next
        notifications they are folded as they are, without reading and decoding them
        back. Otherwise (another writer got in between, ids with a gap) they are ignored.
        `workflows` names the workflow (`id@version`) of the cases `known` belongs to,
        so they need not be looked up.
        """

    @abstractmethod
    def due(self, before: datetime | None = None) -> list[DueItem]:
        """Everything due by `before` (all when None), earliest first."""

    @abstractmethod
    def first(self, before: datetime) -> DueItem | None:
        """The earliest item due by `before`, if any: what the scheduler wakes up for."""

    @abstractmethod
    def claim(self, before: datetime, limit: int) -> AbstractContextManager[list[DueItem]]:
        """A context manager: at most `limit` items due by `before` that no other node holds; dropped when the block ends."""

    @abstractmethod
    def done(self, item: DueItem) -> None:
        """The item was handled: drop it now rather than when its closing event is folded in."""

    @abstractmethod
    def restore(self, item: DueItem) -> None:
        """Put back an item a claim dropped but that could not be handled, so it is tried again."""

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


class Outbox(ABC):
    """Notifications waiting to be delivered, filled by catch-up in the same transaction as the position.

    Delivery is at least once: a claimed notification is handed to every sink,
    then marked delivered, or failed with the time of its next attempt.
    """

    @abstractmethod
    def enqueue(self, notifications: list[dict[str, Any]]) -> None:
        """Add notifications; one already there (same id) is left as it is."""

    @abstractmethod
    def claim_notifications(self, now: datetime, limit: int) -> AbstractContextManager[list[tuple[str, dict[str, Any], int]]]:
        """A context manager: undelivered notifications whose next attempt is due, as (id, payload, attempts)."""

    @abstractmethod
    def notification_delivered(self, notification_id: str, at: datetime) -> None:
        """Every sink took it: it is not offered again."""

    @abstractmethod
    def notification_failed(self, notification_id: str, attempts: int, next_at: datetime, error: str) -> None:
        """A sink refused it: offer it again from `next_at`, with the error kept for `outbox()`."""

    @abstractmethod
    def outbox(self) -> list[dict[str, Any]]:
        """Every notification with its delivery state, oldest first."""


class DueStore(TimerIndex, Outbox, Positions):
    """The projections' store of one backend: the timer index, the outbox and follower positions, in one database."""

    def close(self) -> None:
        """Release connections."""


__all__ = ["DueStore", "Outbox", "Positions", "TRACKING", "TimerIndex"]
