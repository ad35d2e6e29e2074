"""What moving one running case onto another version of its workflow does to it, worked out before anything is recorded.

`plan_case` reads a case as it stands and the events it was folded from, and
says: the state it lands in (the same name, or the new version's
`migrates_from` mapping), the data the new version requires that the case
lacks, the parameters that change, and each armed timer and standing deadline
kept, re-armed, moved, added or withdrawn — each due date worked out again by
the new version's rule on the case's own calendar, counted from the moment the
timer was armed or the deadline set (not from the day of the migration), so a
deadline keeps the start it was given. A case that has ended, whose state the
new version has no place for, or that lacks required data is refused, and why.

The same function plans the events `record_migration` records (the deadlines
found missed by then, `Migrated`, then the timers and deadlines re-armed) and
lets conformance replay (`audit.replay`) check a stored migration against the
one its definitions give. A case's parameters move with it: a value the case
was started with that differs from the old version's default is kept, every
other takes the new version's default, and those the new version lacks go.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from laworkflow.calendar.clock import LONDON, start_of_day
from laworkflow.cases.case import Case, _inside, _Plan
from laworkflow.cases.migration_events import Migrated
from laworkflow.cases.withdrawal import withdrawn_of
from laworkflow.definitions.machine import CompiledWorkflow
from laworkflow.definitions.model import START, Deadline
from laworkflow.errors import LaworkflowError

# What a timer or deadline becomes: as it was, re-recorded (same due date, new state or trigger), moved, added, withdrawn.
KEPT, REARMED, MOVED, ADDED, WITHDRAWN = "kept", "re-armed", "moved", "added", "withdrawn"


@dataclass
class Change:
    """One timer or deadline of a case, before and after the migration."""

    kind: str  # "timer" or "deadline"
    name: str
    action: str
    old_due: str | None
    new_due: str | None
    counted_from: str | None  # the moment it was armed or set (ISO, UTC), which its new due date is counted from
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """As JSON: moments (a timer's due, what it is counted from) in UK time with their offset, as every view gives them."""
        found = dict(vars(self))
        for name in ("counted_from", "old_due", "new_due") if self.kind == "timer" else ("counted_from",):
            if found[name] is not None:
                found[name] = datetime.fromisoformat(found[name]).astimezone(LONDON).isoformat()
        return found


@dataclass
class CaseMigration:
    """One case's part of a migration plan: what would change, or why it cannot move."""

    case_id: UUID
    version: int  # the case's event count when planned: a case changed since is planned again, not migrated blind
    source_state: str
    target_state: str | None
    authority: str | None = None
    parameters: list[tuple[str, Any, Any]] = field(default_factory=list)  # (name, old value, new value); None: none
    missing_data: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.refusals

    def to_dict(self) -> dict[str, Any]:
        return {
            "case": str(self.case_id),
            "authority": self.authority,
            "events": self.version,
            "state": {"from": self.source_state, "to": self.target_state},
            "parameters": [{"name": n, "from": old, "to": new} for n, old, new in self.parameters],
            "missing_data": list(self.missing_data),
            "timers": [c.to_dict() for c in self.changes if c.kind == "timer"],
            "deadlines": [c.to_dict() for c in self.changes if c.kind == "deadline"],
            "refused": list(self.refusals),
        }


@dataclass
class _History:
    """What the case's events say that its folded state does not keep: when each timer was armed, each deadline set, each state entered."""

    armed_at: dict[str, datetime] = field(default_factory=dict)
    set_by: dict[str, Any] = field(default_factory=dict)  # deadline id -> the DeadlineSet that set it (a migration's re-setting not counted)
    entered: dict[str, datetime] = field(default_factory=dict)
    triggers: list[tuple[str, datetime]] = field(default_factory=list)

    @classmethod
    def of(cls, events: list[Any]) -> _History:
        found = cls()
        migrating = False  # the timers and deadlines a migration re-records keep the moment they were first armed or set
        for event in events:
            if isinstance(event, Migrated):
                migrating = True
                if event.source_state in found.entered:
                    found.entered[event.target_state] = found.entered[event.source_state]
            elif isinstance(event, Case.Started):
                found.entered[event.state] = event.effective_at
                found.triggers.append((START, event.effective_at))
            elif isinstance(event, Case.Transitioned):
                migrating = False
                found.triggers.append((event.trigger, event.effective_at))
                if event.source != event.target:
                    found.entered[event.target] = event.effective_at
            elif isinstance(event, (Case.TimerFired, Case.ChildReported, Case.ChildLinked, Case.FindingRecorded)):
                migrating = False
            elif isinstance(event, Case.TimerArmed) and not migrating:
                found.armed_at[event.timer_id] = event.effective_at
            elif isinstance(event, Case.DeadlineSet) and not migrating:
                found.set_by[event.deadline_id] = event
        return found


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def moved_parameters(case: Case, source: CompiledWorkflow, target: CompiledWorkflow) -> dict[str, Any]:
    """The case's parameters on the new version: its own values kept where they differ from the old default, else the new default."""
    defaults = source.parameters()
    own = {k: v for k, v in case.parameters.items() if k in target.definition.parameters and (k not in defaults or v != defaults[k])}
    return target.parameters(own)


def plan_case(
    case: Case,
    events: list[Any],
    source: CompiledWorkflow,
    target: CompiledWorkflow,
    at: datetime,
    mapping: dict[str, str],
    *,
    actor: str = "",
    reason: str = "",
) -> CaseMigration:
    """One case's migration from `source` (the content it pinned) to `target`, at `at`; nothing is recorded."""
    authority = case.data.get("authority")
    result = CaseMigration(case.id, case.version, case.state, None, None if authority is None else str(authority))
    refuse = result.refusals.append
    if source.is_terminal(case.state):
        refuse(f"it has ended (state {case.state!r})")
    withdrawn = withdrawn_of(case)
    if withdrawn is not None:
        refuse(f"it was withdrawn by {withdrawn.get('by')} ({withdrawn.get('reason')})")
    state = mapping.get(case.state, case.state)
    if state not in target.definition.states:
        named = f"maps it to {state!r}, which is not a state of {target.key}" if case.state in mapping else "names no state for it"
        refuse(f"state {case.state!r} is not in {target.key} and the new version's migrates_from {named}")
    else:
        result.target_state = state
    result.missing_data = sorted(name for name, spec in target.definition.data.items() if spec.required and case.data.get(name) is None)
    if result.missing_data:
        refuse(f"{target.key} requires data the case lacks: {', '.join(result.missing_data)}")
    if case.effective_at is not None and at < case.effective_at:
        refuse(f"the migration would take effect at {at.isoformat()}, before the case's last event ({case.effective_at.isoformat()})")
    parameters = moved_parameters(case, source, target)
    names = sorted(set(case.parameters) | set(parameters))
    result.parameters = [(n, case.parameters.get(n), parameters.get(n)) for n in names if case.parameters.get(n) != parameters.get(n)]
    if result.refusals:
        return result
    try:
        _plan_events(result, case, _History.of(events), source, target, at, state, parameters, mapping, actor, reason)
    except LaworkflowError as error:  # a due date the new rules cannot work out (a missing anchor, out of range)
        result.changes, result.events = [], []
        refuse(f"on {target.key}: {error}")
    return result


def _plan_events(
    result: CaseMigration,
    case: Case,
    history: _History,
    source: CompiledWorkflow,
    target: CompiledWorkflow,
    at: datetime,
    state: str,
    parameters: dict[str, Any],
    mapping: dict[str, str],
    actor: str,
    reason: str,
) -> None:
    old = case._plan(source)
    old.missed_deadlines(at)  # as every command does first: what was missed under the old rules is recorded as missed
    new = _Plan(target, state, case.data, parameters)
    result.events = list(old.events)
    migrated = {
        "from_version": case.definition_version,
        "from_hash": case.definition_hash,
        "to_version": target.definition.version,
        "to_hash": target.content_hash,
        "source_state": case.state,
        "target_state": state,
        "parameters": parameters,
        "reason": reason,
    }
    new.add("Migrated", at, actor, **migrated)
    _timers(result, case, history, new, target, at, state, actor)
    _deadlines(result, old.deadlines, history, new, target, at, actor)
    result.events += new.events


def _timers(result: CaseMigration, case: Case, history: _History, new: _Plan, target: CompiledWorkflow, at: datetime, state: str, actor: str) -> None:
    specs = {t.id: t for t in target.timers_by_state.get(state, [])}
    for timer_id, armed in sorted(case.timers.items()):
        old_due = _iso(armed["due_at"])
        spec = specs.get(timer_id)
        if spec is None:
            new.add("TimerCancelled", at, actor, timer_id=timer_id, reason=f"not armed in state {state!r} of {target.key}")
            result.changes.append(Change("timer", timer_id, WITHDRAWN, old_due, None, _iso(history.armed_at.get(timer_id))))
            continue
        since = history.armed_at.get(timer_id, at)
        due_at = start_of_day(new._resolve(spec.due, since, f"timer {timer_id!r}")).astimezone(UTC)
        if (due_at, spec.fires, state) == (armed["due_at"], armed.get("trigger"), armed["state"]):
            result.changes.append(Change("timer", timer_id, KEPT, old_due, old_due, _iso(since)))
            continue
        new.add("TimerCancelled", at, actor, timer_id=timer_id, reason=f"re-armed on {target.key}")
        new.add("TimerArmed", at, actor, timer_id=timer_id, trigger=spec.fires, state=state, due_at=due_at)
        action = MOVED if due_at != armed["due_at"] else REARMED
        result.changes.append(Change("timer", timer_id, action, old_due, _iso(due_at), _iso(since), f"fires {spec.fires!r}"))
    for timer_id, spec in specs.items():
        if timer_id in case.timers:
            continue
        since = history.entered.get(case.state, at)
        due_at = start_of_day(new._resolve(spec.due, since, f"timer {timer_id!r}")).astimezone(UTC)
        new.add("TimerArmed", at, actor, timer_id=timer_id, trigger=spec.fires, state=state, due_at=due_at)
        result.changes.append(Change("timer", timer_id, ADDED, None, _iso(due_at), _iso(since), f"fires {spec.fires!r}; counted from entering {case.state!r}"))


def _deadline_fields(new: _Plan, deadline: Deadline, since: datetime) -> dict[str, Any]:
    """A DeadlineSet's fields for `deadline` set at `since`, as `cases.case._Plan.set_deadlines` works them out."""
    what = f"deadline {deadline.id!r}"
    due_date = new._resolve(deadline.due, since, what)
    remind_on = None
    if deadline.remind_before:
        lead = new.workflow.duration(deadline.remind_before, new.parameters)
        remind_on = _inside(lead.before(due_date, new.workflow.calendar), f"the reminder of {what} would fall on").isoformat()
    return {
        "deadline_id": deadline.id,
        "due_date": due_date.isoformat(),
        "met_by": " or ".join(deadline.met_by),
        "target_date": new._resolve(deadline.target, since, what).isoformat() if deadline.target else None,
        "earliest_date": new._resolve(deadline.earliest, since, what).isoformat() if deadline.earliest else None,
        "remind_on": remind_on,
    }


_SET_FIELDS = ("due_date", "met_by", "target_date", "earliest_date", "remind_on")


def _deadlines(
    result: CaseMigration, standing: dict[str, dict[str, Any]], history: _History, new: _Plan, target: CompiledWorkflow, at: datetime, actor: str
) -> None:
    specs = {d.id: d for d in target.definition.deadlines}
    for deadline_id, entry in sorted(standing.items()):
        if entry["status"] not in ("pending", "missed"):
            continue
        spec = specs.get(deadline_id)
        old_due = entry["due_date"]
        setting = history.set_by.get(deadline_id)
        since = setting.effective_at if setting is not None else at
        if spec is None:
            new.add("DeadlineWithdrawn", at, actor, deadline_id=deadline_id, reason=f"not in {target.key}")
            result.changes.append(Change("deadline", deadline_id, WITHDRAWN, old_due, None, _iso(since)))
            continue
        if entry["status"] == "missed":
            result.changes.append(Change("deadline", deadline_id, KEPT, old_due, old_due, _iso(since), "already recorded missed"))
            continue
        fields = _deadline_fields(new, spec, since)
        before = {name: getattr(setting, name) for name in _SET_FIELDS} if setting is not None else None
        if before == {name: fields[name] for name in _SET_FIELDS}:
            result.changes.append(Change("deadline", deadline_id, KEPT, old_due, old_due, _iso(since)))
            continue
        new.add("DeadlineWithdrawn", at, actor, deadline_id=deadline_id, reason=f"re-set on {target.key}")
        new.add("DeadlineSet", at, actor, **fields)
        action = MOVED if fields["due_date"] != old_due else REARMED
        result.changes.append(Change("deadline", deadline_id, action, old_due, fields["due_date"], _iso(since)))
    for deadline_id, spec in specs.items():
        if deadline_id in standing:
            continue
        set_at = [moment for trigger, moment in history.triggers if trigger in spec.set_by]
        if not set_at or any(trigger in spec.met_by and moment >= set_at[-1] for trigger, moment in history.triggers[1:]):
            continue  # never set by anything the case did, or met since
        fields = _deadline_fields(new, spec, set_at[-1])
        new.add("DeadlineSet", at, actor, **fields)
        result.changes.append(Change("deadline", deadline_id, ADDED, None, fields["due_date"], _iso(set_at[-1]), f"set by {' or '.join(spec.set_by)}"))


def record_migration(case: Case, migration: CaseMigration) -> None:
    """Record a planned migration's events on the case (the caller saves them in one write)."""
    for kind, fields in migration.events:
        case._record(Migrated if kind == "Migrated" else getattr(Case, kind), **fields)


__all__ = ["ADDED", "KEPT", "MOVED", "REARMED", "WITHDRAWN", "CaseMigration", "Change", "moved_parameters", "plan_case", "record_migration"]
