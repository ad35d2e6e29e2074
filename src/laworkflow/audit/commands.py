"""A case's stored events, split back into the commands that recorded them.

Every command a case takes plans all its events before recording any
(`cases.case._Plan`), so the log of a case is a sequence of commands whose
shape is fixed by the kind of command:

- `start`: `Started`, then the timers and deadlines it arms and sets;
- `fire` (a person's trigger): the deadlines it found missed (`DeadlineMissed`,
  actor "system"), `Transitioned`, what the transition plans, and `ChildLinked`
  when the transition starts a child;
- `fire_timer`: missed deadlines, then `TimerFired` and its transition, or a
  lone `TimerCancelled` "refused when due";
- `react` (a child's progress): missed deadlines, `ChildReported`, and the
  transition it fired, if any;
- `record_missed_deadlines` (the scheduler): `DeadlineMissed` alone;
- `migrate`: missed deadlines, `Migrated`, then the timers and deadlines it
  re-armed (`cases.migrating`).

So a command begins at a head event (`Started`, a `Transitioned` that no
`TimerFired` or `ChildReported` just led to, `TimerFired`, a refused
`TimerCancelled`, `ChildReported`, `Migrated`), preceded by any run of `DeadlineMissed`
directly before it; `Withdrawn` and `Reassigned` (`cases.withdrawal`) are heads
too, and a fire that a bulk operation took ends with its `BulkApplied`.
A run of `DeadlineMissed` with no head after it is the
scheduler's. A run directly before a head may hold the scheduler's recordings
and the head's own together: replaying the head from the state before the
run gives the same events either way (both record, in due order, every
pending deadline whose day ended by then), so the split need not be known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from laworkflow.cases.case import Case
from laworkflow.cases.migration_events import Migrated
from laworkflow.cases.withdrawal import HEADS

REFUSED_WHEN_DUE = "refused when due"
FIRED = "fired "  # the outcome of a ChildReported whose reaction took its trigger (else "refused: …")


@dataclass
class Command:
    """The stored events of one command: the missed deadlines before its head, the head, what followed it."""

    events: list[Any] = field(default_factory=list)
    head: Any | None = None

    @property
    def missed(self) -> list[Any]:
        """The `DeadlineMissed` run before the head (all the events when there is no head)."""
        run = []
        for event in self.events:
            if not isinstance(event, Case.DeadlineMissed):
                break
            run.append(event)
        return run

    @property
    def kind(self) -> str:
        head = self.head
        if head is None:
            return "record_missed_deadlines"
        if isinstance(head, Case.Started):
            return "start"
        if isinstance(head, Case.Transitioned):
            return "fire"
        if isinstance(head, Case.ChildReported):
            return "react"
        if isinstance(head, HEADS):
            return type(head).__name__.lower()  # withdrawn, reassigned
        if isinstance(head, Migrated):
            return "migrate"
        return "fire_timer"


def is_refused_timer(event: Any) -> bool:
    """A timer that came due and was refused: its own command, not part of a transition's plan."""
    return isinstance(event, Case.TimerCancelled) and event.reason.startswith(REFUSED_WHEN_DUE) and event.actor == f"timer:{event.timer_id}"


def _is_head(event: Any, current: Command | None) -> bool:
    if isinstance(event, (Case.Started, Case.TimerFired, Case.ChildReported, Migrated, *HEADS)) or is_refused_timer(event):
        return True
    if isinstance(event, Case.Transitioned):  # the transition a timer or a reaction fired belongs to that command
        last = current.events[-1] if current is not None and current.events else None
        return not (isinstance(last, Case.TimerFired) or (isinstance(last, Case.ChildReported) and last.outcome.startswith(FIRED)))
    return False


def split_commands(events: list[Any]) -> list[Command]:
    """The commands that recorded `events` (a case's stored events, in order), told apart by their shape."""
    commands: list[Command] = []
    current: Command | None = None
    for event in events:
        only_missed = current is not None and current.head is None and all(isinstance(e, Case.DeadlineMissed) for e in current.events)
        if isinstance(event, Case.DeadlineMissed):
            if not only_missed:
                current = Command()
                commands.append(current)
        elif _is_head(event, current):
            if not only_missed:
                current = Command()
                commands.append(current)
            assert current is not None
            current.head = event
        elif current is None:  # a case whose first event is not a head: replayed as nothing, so reported
            current = Command()
            commands.append(current)
        assert current is not None
        current.events.append(event)
    return commands


__all__ = ["Command", "FIRED", "REFUSED_WHEN_DUE", "is_refused_timer", "split_commands"]
