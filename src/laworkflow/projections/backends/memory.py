"""The projections' store in memory: for a memory event store and for embedders' tests."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from laworkflow.cases.views import DueItem, QuarantinedItem
from laworkflow.errors import NotQuarantined
from laworkflow.projections.backends.base import TRACKING, DueStore, decode
from laworkflow.projections.collector import collector_paused
from laworkflow.projections.follower import pages
from laworkflow.projections.notifications import notification_for, quarantine_notification
from laworkflow.projections.quarantine import event_entry, item_entry, item_entry_id, logged
from laworkflow.projections.timer_index import DueIndex

_BATCH = 2000  # notifications folded per transaction: fewer round trips when rebuilding


class MemoryDueStore(DueStore):
    """For a memory store and for embedders' tests: the in-memory index."""

    def __init__(self) -> None:
        self.index = DueIndex()
        self.positions: dict[str, int] = {}
        self.notifications: dict[str, dict[str, Any]] = {}
        self.quarantine: dict[str, QuarantinedItem] = {}

    def catch_up(self, recorder: Any, mapper: Any, known: Sequence[tuple[int, Any]] = (), workflows: Mapping[UUID, str] | None = None) -> int:
        seen = 0
        with collector_paused():  # as the SQL stores' catch-up (projections.collector)
            for notifications in pages(recorder, self.position(), _BATCH):
                decoded, set_aside = decode(notifications, mapper)  # one that no longer decodes is set aside, the rest go on
                for entry in set_aside:
                    self._set_aside(entry)
                for position, event in decoded:
                    self._fold(event, position)
                self.positions[TRACKING] = notifications[-1].id
                seen += len(notifications)
        return seen

    def _fold(self, event: Any, position: int | None) -> QuarantinedItem | None:
        """Apply one event; one whose effect cannot be worked out is set aside (and returned)."""
        workflow = self.index.workflows.get(event.originator_id, "?")
        try:
            found = notification_for(event, workflow, position) if position is not None else None
            touched = self.index.fold(event)
        except Exception as error:  # any: one event must never stop the index
            return self._set_aside(event_entry(event, error, workflow, position))
        for key in touched:  # re-armed or closed since it was set aside: the entry is moot
            entry = self.quarantine.get(item_entry_id(key))
            if entry is not None and entry.source == "item":
                del self.quarantine[entry.id]
        if found:
            self.enqueue([found])
        return None

    def _set_aside(self, entry: QuarantinedItem) -> QuarantinedItem:
        self.quarantine.pop(entry.id, None)
        self.quarantine[entry.id] = logged(entry)
        self.enqueue([quarantine_notification(entry)])
        return entry

    def quarantine_item(self, item: DueItem, error: BaseException) -> QuarantinedItem:
        self.done(item)
        return self._set_aside(item_entry(item, error))

    def quarantined(self) -> list[QuarantinedItem]:
        return list(self.quarantine.values())

    def release(self, entry: QuarantinedItem, events: list[Any]) -> list[QuarantinedItem]:
        if self.quarantine.pop(entry.id, None) is None:
            raise NotQuarantined(f"nothing quarantined has the id {entry.id!r}")
        if entry.source == "item" and entry.due_at is not None:
            self.restore(DueItem(entry.due_at, entry.kind, entry.case_id, entry.name, entry.workflow, entry.detail))  # type: ignore[arg-type]
            return []
        again = [self._fold(event, entry.position if event.originator_version == entry.version else None) for event in events]
        return [e for e in again if e is not None]

    def due(self, before: datetime | None = None) -> list[DueItem]:
        return self.index.due(before)

    def first(self, before: datetime) -> DueItem | None:
        return self.index.first(before)

    @contextmanager
    def claim(self, before: datetime, limit: int) -> Iterator[list[DueItem]]:
        items = self.index.due(before)[:limit]
        yield items
        for item in items:
            self.done(item)

    def done(self, item: DueItem) -> None:
        self.index._drop((item.case_id, item.kind, item.name))

    def restore(self, item: DueItem) -> None:
        self.index._add(item)

    def position(self, name: str = TRACKING) -> int:
        return self.positions.get(name, 0)

    def set_position(self, name: str, position: int) -> None:
        self.positions[name] = position

    def reset(self) -> None:
        self.index, self.quarantine = DueIndex(), {}
        self.positions.pop(TRACKING, None)  # the outbox and the other followers' positions stay, as the contract says

    def enqueue(self, notifications: list[dict[str, Any]]) -> None:
        for payload in notifications:
            self.notifications.setdefault(
                payload["id"], {"id": payload["id"], "payload": payload, "attempts": 0, "next_at": None, "delivered_at": None, "error": None}
            )

    @contextmanager
    def claim_notifications(self, now: datetime, limit: int) -> Iterator[list[tuple[str, dict[str, Any], int]]]:
        pending = [
            (n["id"], n["payload"], n["attempts"])
            for n in self.notifications.values()
            if n["delivered_at"] is None and (n["next_at"] is None or n["next_at"] <= now)
        ]
        yield pending[:limit]

    def notification_delivered(self, notification_id: str, at: datetime) -> None:
        self.notifications[notification_id].update(delivered_at=at, error=None)

    def notification_failed(self, notification_id: str, attempts: int, next_at: datetime, error: str) -> None:
        self.notifications[notification_id].update(attempts=attempts, next_at=next_at, error=error)

    def outbox(self) -> list[dict[str, Any]]:
        return [dict(n) for n in self.notifications.values()]
