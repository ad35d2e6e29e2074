"""What the pictures of one case show, read from its history: the steps it took, its deadlines and milestones.

Read from the events alone (`Engine.history`), not from the case as it stands,
so a picture of a case is a picture of its record: a deadline set twice shows
twice, a deadline missed and then met shows both, and the same history always
gives the same picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal

from laworkflow.calendar.clock import uk_date
from laworkflow.cases.views import HistoryEntry

DeadlineStatus = Literal["pending", "met", "missed", "withdrawn", "replaced"]


@dataclass(frozen=True)
class Step:
    """One transition a case took: `source` to `target` by `trigger` (the same state for a trigger that keeps it there)."""

    source: str
    trigger: str
    target: str
    effective_at: datetime


def steps_from_history(entries: Sequence[HistoryEntry]) -> list[Step]:
    """Every `Transitioned` event, in the order of the history."""
    return [Step(str(e.details["source"]), str(e.details["trigger"]), str(e.details["target"]), e.effective_at) for e in entries if e.type == "Transitioned"]


@dataclass(frozen=True)
class DeadlineRow:
    """One deadline as set once: its window, and what became of it.

    `status` is `pending` until the deadline is met, missed (`missed_on` is
    the due date it passed), withdrawn (the case ended first) or `replaced`
    (set again while still open: the later row is the one that counts). A
    deadline missed and met later is `met`, late, and keeps its `missed_on`.
    """

    id: str
    set_on: date
    due: date
    target: date | None = None
    earliest: date | None = None
    met_by: str = ""
    status: DeadlineStatus = "pending"
    met_on: date | None = None
    timing: str | None = None  # early, on_time or late, once met
    late_by_working_days: int | None = None
    missed_on: date | None = None
    withdrawn_on: date | None = None

    def outcome(self) -> str:
        """What became of it, in words: "met 2013-07-12, on time", "missed 2013-07-12", "pending"."""
        if self.status == "met" and self.met_on is not None:
            if self.timing == "late":
                late = self.late_by_working_days or 0
                return f"met {self.met_on.isoformat()}, {late} working day{'' if late == 1 else 's'} late"
            return f"met {self.met_on.isoformat()}, {'early' if self.timing == 'early' else 'on time'}"
        if self.status == "missed" and self.missed_on is not None:
            return f"missed {self.missed_on.isoformat()}"
        if self.status == "withdrawn" and self.withdrawn_on is not None:
            return f"withdrawn {self.withdrawn_on.isoformat()}"
        return "replaced (set again)" if self.status == "replaced" else "pending"


@dataclass(frozen=True)
class Milestone:
    """The case entered `state` on `on` (the UK day of `effective_at`); `trigger` is `start` for the first state."""

    on: date
    effective_at: datetime
    trigger: str
    state: str


@dataclass(frozen=True)
class Timeline:
    """A case's deadlines (one row per setting, in the order they were set) and milestones (each state it entered)."""

    deadlines: list[DeadlineRow] = field(default_factory=list)
    milestones: list[Milestone] = field(default_factory=list)

    def dates(self) -> list[date]:
        """Every date the picture must show."""
        found = [m.on for m in self.milestones]
        for row in self.deadlines:
            found += [d for d in (row.set_on, row.due, row.target, row.earliest, row.met_on, row.missed_on, row.withdrawn_on) if d is not None]
        return found


def _day(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def timeline_from_history(entries: Sequence[HistoryEntry]) -> Timeline:
    """The rows and milestones of a case's history (`DeadlineSet`, `DeadlineMet`, `DeadlineMissed`, `DeadlineWithdrawn`, `Started`, `Transitioned`)."""
    rows: list[DeadlineRow] = []
    latest: dict[str, int] = {}  # deadline id -> index of its latest row
    milestones: list[Milestone] = []
    for entry in entries:
        details, on = entry.details, uk_date(entry.effective_at)
        if entry.type == "Started":
            milestones.append(Milestone(on, entry.effective_at, "start", str(details["state"])))
        elif entry.type == "Transitioned" and details["source"] != details["target"]:
            milestones.append(Milestone(on, entry.effective_at, str(details["trigger"]), str(details["target"])))
        elif entry.type == "DeadlineSet":
            deadline_id = str(details["deadline_id"])
            if deadline_id in latest and rows[latest[deadline_id]].status in ("pending", "missed"):
                rows[latest[deadline_id]] = replace(rows[latest[deadline_id]], status="replaced")
            due = _day(details["due_date"])
            assert due is not None  # every DeadlineSet carries its due date
            row = DeadlineRow(deadline_id, on, due, _day(details.get("target_date")), _day(details.get("earliest_date")), str(details.get("met_by") or ""))
            latest[deadline_id] = len(rows)
            rows.append(row)
        elif entry.type in ("DeadlineMet", "DeadlineMissed", "DeadlineWithdrawn") and details.get("deadline_id") in latest:
            index = latest[str(details["deadline_id"])]
            row = rows[index]
            if entry.type == "DeadlineMet":
                late = details.get("late_by_working_days")
                row = replace(row, status="met", met_on=_day(details["met_on"]), timing=details.get("timing"), late_by_working_days=late)
            elif entry.type == "DeadlineMissed":
                row = replace(row, status="missed", missed_on=_day(details.get("due_date")) or row.due)
            else:
                row = replace(row, status="withdrawn", withdrawn_on=on)
            rows[index] = row
    return Timeline(rows, milestones)


__all__ = ["DeadlineRow", "DeadlineStatus", "Milestone", "Step", "Timeline", "steps_from_history", "timeline_from_history"]
