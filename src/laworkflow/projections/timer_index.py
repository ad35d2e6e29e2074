"""The armed timers and standing deadlines of every case, as a projection of the event log.

It follows the application's notification log in order and keeps only what is
still due, so "what is due before X" never scans cases. It owns nothing: delete
it and it is rebuilt from the events. Every item it holds is inside
`laworkflow.calendar.bounds`: an event whose item would not be (stored before dates were
checked) raises OutOfRange from `effects`, and the stores set that event aside.
"""

from __future__ import annotations

import heapq
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from laworkflow.calendar.bounds import check_day, check_moment
from laworkflow.calendar.clock import day_over_at, start_of_day
from laworkflow.cases.case import Case
from laworkflow.cases.migration_events import Migrated
from laworkflow.cases.views import DueItem, DueKind
from laworkflow.projections.follower import Projection


def deadline_passes_at(due_date: str) -> datetime:
    """A deadline is missed once its due day is over (UK time); a due day outside the range: OutOfRange."""
    day = check_day(date.fromisoformat(due_date), "the deadline's due date")
    return day_over_at(day)


def _window(event: Any) -> str:
    if event.earliest_date is None and event.target_date is None:
        return ""
    return f" (window {event.earliest_date or '…'} to {event.due_date}, target {event.target_date or event.due_date})"


Key = tuple[UUID, DueKind, str]  # case, kind, name


class DueIndex(Projection):
    def __init__(self) -> None:
        self.workflows: dict[UUID, str] = {}
        self.items: dict[Key, DueItem] = {}
        self._heap: list[tuple[datetime, DueKind, str, str, UUID]] = []  # lazily pruned: entries may be stale

    def _add(self, item: DueItem) -> None:
        self.items[(item.case_id, item.kind, item.name)] = item
        heapq.heappush(self._heap, (item.due_at, item.kind, str(item.case_id), item.name, item.case_id))

    def _drop(self, key: Key) -> None:
        self.items.pop(key, None)

    def effects(self, event: Any) -> tuple[list[DueItem], list[Key]]:
        """What an event puts into the index and takes out of it, changing nothing.

        Worked out in full before anything is applied, so an event whose effect
        cannot be computed (it raises) leaves the index as it was.
        """
        case_id = event.originator_id
        workflow = self.workflows.get(case_id, "?")
        if isinstance(event, Case.TimerArmed):
            due_at = check_moment(event.due_at, f"timer {event.timer_id!r} due")
            return [DueItem(due_at, "timer", case_id, event.timer_id, workflow, f"fires {event.trigger!r}")], []
        if isinstance(event, (Case.TimerFired, Case.TimerCancelled)):
            return [], [(case_id, "timer", event.timer_id)]
        if isinstance(event, Case.DeadlineSet):
            detail = f"due {event.due_date}{_window(event)}, met by {event.met_by!r}"
            puts = [DueItem(deadline_passes_at(event.due_date), "deadline", case_id, event.deadline_id, workflow, detail)]
            if event.remind_on is not None:
                remind_on = check_day(date.fromisoformat(event.remind_on), "the reminder's date")
                puts.append(DueItem(start_of_day(remind_on).astimezone(UTC), "reminder", case_id, event.deadline_id, workflow, detail))
            return puts, []
        if isinstance(event, (Case.DeadlineMissed, Case.DeadlineMet, Case.DeadlineWithdrawn)):
            return [], [(case_id, "deadline", event.deadline_id), (case_id, "reminder", event.deadline_id)]
        return [], []

    def apply(self, event: Any) -> None:
        self.fold(event)

    def fold(self, event: Any) -> list[Key]:
        """Apply one event, all or nothing; returns the keys it changed."""
        puts, drops = self.effects(event)
        if isinstance(event, Case.Started):
            self.workflows[event.originator_id] = f"{event.definition_id}@{event.definition_version}"
        elif isinstance(event, Migrated) and event.originator_id in self.workflows:
            self.workflows[event.originator_id] = f"{self.workflows[event.originator_id].rsplit('@', 1)[0]}@{event.to_version}"
        for key in drops:
            self._drop(key)
        for item in puts:
            self._add(item)
        return [*drops, *((item.case_id, item.kind, item.name) for item in puts)]

    def first(self, before: datetime) -> DueItem | None:
        """The earliest item due by `before`, in O(log n): what a scheduler handles next."""
        while self._heap:
            due_at, kind, _, name, case_id = self._heap[0]
            item = self.items.get((case_id, kind, name))
            if item is not None and item.due_at == due_at:
                return item if due_at <= before else None
            heapq.heappop(self._heap)
        return None

    def due(self, before: datetime | None = None) -> list[DueItem]:
        """Timers, reminders and deadlines whose day ends before `before` (everything when None), earliest first."""
        items = list(self.items.values())
        if before is not None:
            items = [item for item in items if item.due_at <= before]
        return sorted(items)
