"""The Case aggregate: one process instance, remembered as a chain of events.

A case decides what a command means (asking its compiled workflow whether the
trigger is allowed) and then records events. Every decision is planned in full
before the first event is recorded, so a refused command leaves the case as it
was. Each event carries who did it, when it took effect, and a digest chained
to the previous event's, so `verify` can prove no stored event was altered.

This module imports nothing from storage, scheduling, HTTP or the CLI.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from laworkflow.calendar.bounds import RANGE_TEXT, check_moment, within
from laworkflow.calendar.clock import day_over_at, start_of_day, uk_date
from laworkflow.cases.copying import copy_aggregate
from laworkflow.cases.digest import event_digest, stored_digest, unexpected_fields
from laworkflow.cases.findings import findings_after, out_of_force
from laworkflow.definitions import derived
from laworkflow.definitions.guards import GuardContext
from laworkflow.definitions.internal import refuse_internal
from laworkflow.definitions.machine import CompiledWorkflow
from laworkflow.definitions.model import START, Transition
from laworkflow.errors import BadTime, CaseWithdrawn, GuardFailed, InvalidData, LaworkflowError, OutOfRange, TriggerNotAllowed

GENESIS = "0" * 64
SYSTEM_ACTOR = "system"


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _inside(day: date, says: str) -> date:
    """`day`, or OutOfRange: `says` what the day is, e.g. "deadline 'x' would fall due on"."""
    if not within(day):
        raise OutOfRange(f"{says} {day.isoformat()}, outside the dates the engine accepts ({RANGE_TEXT}); nothing was recorded")
    return day


def _when(at: datetime) -> datetime:
    """The moment a command takes effect, in UTC; outside `laworkflow.calendar.bounds`, OutOfRange (for callers that skip `aware`)."""
    return _utc(check_moment(at, "a command's time"))


class Case(Aggregate):
    """A process instance on one pinned definition version."""

    class Event(Aggregate.Event):
        actor: str
        effective_at: datetime
        prev_hash: str
        digest: str

        def apply(self, case: Case) -> None:
            case.effective_at = self.effective_at
            case.head_hash = self.digest
            self.change(case)

        def change(self, case: Case) -> None:
            """What this kind of event changes, beyond the chain and the clock."""

    class Started(Event, Aggregate.Created):
        definition_id: str
        definition_version: int
        definition_hash: str
        state: str
        data: dict[str, Any]
        parameters: dict[str, Any]
        parent_id: str | None

    class Transitioned(Event):
        trigger: str
        source: str
        target: str
        data: dict[str, Any]

        def change(self, case: Case) -> None:
            case.state = self.target
            case.data = {**case.data, **self.data}

    class TimerArmed(Event):
        timer_id: str
        trigger: str
        state: str
        due_at: datetime

        def change(self, case: Case) -> None:
            case.timers = {**case.timers, self.timer_id: {"trigger": self.trigger, "state": self.state, "due_at": self.due_at}}

    class TimerEnded(Event):
        """A timer no longer armed, whether it fired or was cancelled."""

        timer_id: str

        def change(self, case: Case) -> None:
            case.timers = {k: v for k, v in case.timers.items() if k != self.timer_id}

    class TimerCancelled(TimerEnded):
        reason: str

    class TimerFired(TimerEnded):
        due_at: datetime
        lateness_seconds: float

    class DeadlineSet(Event):
        deadline_id: str
        due_date: str
        met_by: str
        target_date: str | None
        earliest_date: str | None
        remind_on: str | None

        def change(self, case: Case) -> None:
            entry: dict[str, str | None] = {"due_date": self.due_date, "met_by": self.met_by, "status": "pending"}
            if self.earliest_date or self.target_date:
                entry.update(earliest_date=self.earliest_date, target_date=self.target_date)
            case.deadlines = {**case.deadlines, self.deadline_id: entry}

    class DeadlineMissed(Event):
        deadline_id: str
        due_date: str

        def change(self, case: Case) -> None:
            case.deadlines = {**case.deadlines, self.deadline_id: {**case.deadlines[self.deadline_id], "status": "missed"}}

    class DeadlineMet(Event):
        deadline_id: str
        met_on: str
        late_by_working_days: int
        timing: str  # "early" (before a window opens), "on_time" or "late"

        def change(self, case: Case) -> None:
            entry = {**case.deadlines[self.deadline_id], "met_on": self.met_on, "late_by_working_days": self.late_by_working_days}
            entry["status"] = {"early": "met_early", "late": "met_late"}.get(self.timing, "met")
            case.deadlines = {**case.deadlines, self.deadline_id: entry}

    class DeadlineWithdrawn(Event):
        deadline_id: str
        reason: str

        def change(self, case: Case) -> None:
            entry = case.deadlines[self.deadline_id]
            status = "withdrawn_after_missing" if entry["status"] == "missed" else "withdrawn"
            case.deadlines = {**case.deadlines, self.deadline_id: {**entry, "status": status}}

    class ChildReported(Event):
        """A child case reached a state its parent reacts to; recorded once, with what came of it."""

        child_id: str
        child_version: int
        reaction: str
        outcome: str

        def change(self, case: Case) -> None:
            case.reported = [*case.reported, f"{self.child_id}:{self.child_version}"]

    class FindingRecorded(Event):
        """A "normally"/"usually" rule not kept: a warning, recorded by the command that did it (`cases.findings`)."""

        finding_id: str
        trigger: str
        message: str
        cites: str
        details: str

        def change(self, case: Case) -> None:
            case.findings = [
                *case.findings,
                {"id": self.finding_id, **{k: getattr(self, k) for k in ("trigger", "message", "cites", "details", "effective_at")}},
            ]

    class ChildLinked(Event):
        child_id: str
        workflow: str
        trigger: str

        def change(self, case: Case) -> None:
            case.children = [*case.children, {"id": self.child_id, "workflow": self.workflow, "trigger": self.trigger}]

    __deepcopy__ = copy_aggregate  # the copy each command gets from the cache (cases.copying says why)

    def __init__(
        self,
        definition_id: str,
        definition_version: int,
        definition_hash: str,
        state: str,
        data: dict[str, Any],
        parameters: dict[str, Any],
        parent_id: str | None,
    ) -> None:
        self.definition_id = definition_id
        self.definition_version = definition_version
        self.definition_hash = definition_hash
        self.state = state
        self.data = dict(data)
        self.parameters = dict(parameters)
        self.parent_id = parent_id
        self.timers: dict[str, dict[str, Any]] = {}
        self.deadlines: dict[str, dict[str, Any]] = {}
        self.children: list[dict[str, str]] = []
        self.reported: list[str] = []
        self.findings: list[dict[str, Any]] = []
        self.effective_at: datetime | None = None
        self.head_hash = GENESIS

    # ----------------------------------------------------------------- recording

    @classmethod
    def begin(
        cls,
        workflow: CompiledWorkflow,
        *,
        data: dict[str, Any] | None,
        parameters: dict[str, Any] | None,
        actor: str,
        at: datetime,
        case_id: UUID,
        parent_id: str | None = None,
    ) -> Case:
        """Start a case on a compiled workflow; arms the initial state's timers."""
        at = _when(at)
        values = workflow.parameters(parameters)
        payload = workflow.start_payload(data, uk_date(at), values, f"starting {workflow.key}")
        timestamp = cls.Started.create_timestamp()
        state = workflow.definition.initial
        fields = {
            "originator_topic": get_topic(cls),
            "originator_id": case_id,
            "originator_version": cls.INITIAL_VERSION,
            "timestamp": timestamp,
            "actor": actor,
            "effective_at": at,
            "prev_hash": GENESIS,
            "definition_id": workflow.definition.id,
            "definition_version": workflow.definition.version,
            "definition_hash": workflow.content_hash,
            "state": state,
            "data": payload,
            "parameters": values,
            "parent_id": parent_id,
        }
        plan = _Plan(workflow, state=state, data=payload, parameters=values)
        plan.enter_state(state, at, actor)
        plan.set_deadlines(START, at, actor)
        plan.findings(START, at, actor, window=parent_id is None)  # a child follows its parent's framework: no window finding
        fields["digest"] = event_digest(cls.Started.__qualname__, fields)
        case = cls._create(
            cls.Started,
            id=case_id,
            **{k: v for k, v in fields.items() if k not in ("originator_topic", "originator_id", "originator_version")},
        )
        case._record_plan(plan)
        return case

    def _record(self, event_class: type[Case.Event], **fields: Any) -> None:
        fields["prev_hash"] = self.head_hash
        fields["timestamp"] = event_class.create_timestamp()
        full = {"originator_id": self.id, "originator_version": self.version + 1, **fields}
        fields["digest"] = event_digest(event_class.__qualname__, full)
        self.trigger_event(event_class, **fields)

    def _record_plan(self, plan: _Plan) -> None:
        for event_class, fields in plan.events:
            self._record(getattr(Case, event_class), **fields)

    # ------------------------------------------------------------------ commands

    def fire(self, workflow: CompiledWorkflow, trigger: str, data: dict[str, Any] | None, *, actor: str, at: datetime) -> Transition:
        """Take a trigger: catch up missed deadlines, transition, arm/cancel timers, set/meet deadlines."""
        at = self._check_time(at)
        refuse_internal(workflow.definition, self.state, trigger)  # a reaction's or a timer's: never a person's command
        transition, payload = workflow.select(self.state, trigger, data, lambda p: self._context(workflow, p, at))
        refuse_internal(workflow.definition, self.state, trigger, transition)
        plan = self._plan(workflow)
        plan.missed_deadlines(at)
        plan.transition(transition, payload, at, actor)
        self._record_plan(plan)
        return transition

    def fire_timer(self, workflow: CompiledWorkflow, timer_id: str, *, at: datetime) -> bool:
        """Fire an armed timer once; a timer no longer armed (or a lost race) is a no-op."""
        timer = self.timers.get(timer_id)
        if timer is None or timer["state"] != self.state:
            return False
        at = _when(at)
        due_at = timer["due_at"]
        if at < due_at:
            raise BadTime(f"timer {timer_id!r} is not due until {due_at.isoformat()}")
        effective = max(due_at, self.effective_at or due_at)
        actor = f"timer:{timer_id}"
        plan = self._plan(workflow)
        plan.missed_deadlines(effective)
        try:
            transition, payload = workflow.select(self.state, timer["trigger"], {}, lambda p: self._context(workflow, p, effective))
        except (TriggerNotAllowed, GuardFailed, InvalidData) as refusal:
            plan.add("TimerCancelled", effective, actor, timer_id=timer_id, reason=f"refused when due: {refusal}")
            self._record_plan(plan)
            return False
        plan.add("TimerFired", effective, actor, timer_id=timer_id, due_at=due_at, lateness_seconds=(at - due_at).total_seconds())
        del plan.timers[timer_id]
        plan.transition(transition, payload, effective, actor)
        self._record_plan(plan)
        return True

    def record_missed_deadlines(self, workflow: CompiledWorkflow, *, at: datetime) -> int:
        plan = self._plan(workflow)
        plan.missed_deadlines(_when(at))
        self._record_plan(plan)
        return len(plan.events)

    def react(self, workflow: CompiledWorkflow, reaction: Any, data: dict[str, Any], *, child_id: UUID, child_version: int, at: datetime) -> Transition | None:
        """Fire the parent's trigger for a child's progress, once per child event; a refusal is recorded, not raised."""
        if f"{child_id}:{child_version}" in self.reported or getattr(self, "withdrawn", None):  # a withdrawn case takes nothing more
            return None
        at = max(_when(at), self.effective_at or _when(at))
        actor = f"child:{child_id}"
        plan = self._plan(workflow)
        plan.missed_deadlines(at)
        try:
            transition, payload = workflow.select(self.state, reaction.fire, data, lambda p: self._context(workflow, p, at))
            plan.add("ChildReported", at, actor, child_id=str(child_id), child_version=child_version, reaction=reaction.id, outcome=f"fired {reaction.fire!r}")
            plan.transition(transition, payload, at, actor)
        except LaworkflowError as refusal:  # refused, or it would derive a deadline out of range: recorded, so follow-up goes on
            plan = self._plan(workflow)
            plan.missed_deadlines(at)
            plan.add("ChildReported", at, actor, child_id=str(child_id), child_version=child_version, reaction=reaction.id, outcome=f"refused: {refusal}")
            self._record_plan(plan)
            return None
        self._record_plan(plan)
        return transition

    def link_child(self, child_id: UUID, workflow: str, trigger: str, *, actor: str, at: datetime) -> None:
        self._record(Case.ChildLinked, actor=actor, effective_at=_when(at), child_id=str(child_id), workflow=workflow, trigger=trigger)

    # ------------------------------------------------------------------- queries

    @property
    def key(self) -> str:
        return f"{self.definition_id}@{self.definition_version}"

    # ------------------------------------------------------------------- helpers

    def _check_time(self, at: datetime) -> datetime:
        if withdrawn := getattr(self, "withdrawn", None):  # set by `cases.withdrawal.Withdrawn`
            raise CaseWithdrawn(f"case {self.id} was withdrawn by {withdrawn['by']} ({withdrawn['reason']}); it takes no further command")
        at = _when(at)
        if self.effective_at is not None and at < self.effective_at:
            raise BadTime(
                f"a command cannot take effect at {at.isoformat()}, before the case's last event "
                f"({self.effective_at.isoformat()}); events are kept in the order they took effect"
            )
        return at

    def _context(self, workflow: CompiledWorkflow, payload: dict[str, Any], at: datetime) -> GuardContext:
        return derived.with_derived(workflow.definition, GuardContext({**self.data, **payload}, uk_date(at), workflow.calendar, self.parameters))

    def _plan(self, workflow: CompiledWorkflow) -> _Plan:
        return _Plan(workflow, self.state, self.data, self.parameters, dict(self.timers), {k: dict(v) for k, v in self.deadlines.items()}, self.effective_at)


class _Plan:
    """The events a command will record, worked out in full before any is recorded."""

    def __init__(
        self,
        workflow: CompiledWorkflow,
        state: str,
        data: dict[str, Any],
        parameters: dict[str, Any],
        timers: dict[str, dict[str, Any]] | None = None,
        deadlines: dict[str, dict[str, Any]] | None = None,
        last: datetime | None = None,
    ):
        self.workflow = workflow
        self.state = state
        self.data = dict(data)
        self.parameters = parameters
        self.timers = timers or {}
        self.deadlines = deadlines or {}
        self.last = last
        self.events: list[tuple[str, dict[str, Any]]] = []

    def add(self, kind: str, at: datetime, actor: str, **fields: Any) -> None:
        self.events.append((kind, {"actor": actor, "effective_at": at, **fields}))

    def missed_deadlines(self, at: datetime) -> None:
        """Record, in due order, every pending deadline whose day ended before `at`.

        A due date outside `laworkflow.calendar.bounds` (only ever stored before they were
        checked) never passes: commands can no longer reach it, and the index sets it aside.
        """
        passed = []
        for deadline_id, entry in self.deadlines.items():
            due = date.fromisoformat(entry["due_date"])
            if entry["status"] != "pending" or not within(due):
                continue
            missed_at = day_over_at(due)
            if missed_at <= at:
                passed.append((missed_at, deadline_id))
        for missed_at, deadline_id in sorted(passed):
            effective = max(missed_at, self.last) if self.last else missed_at
            self.add("DeadlineMissed", effective, SYSTEM_ACTOR, deadline_id=deadline_id, due_date=self.deadlines[deadline_id]["due_date"])
            self.deadlines[deadline_id]["status"] = "missed"

    def transition(self, transition: Transition, payload: dict[str, Any], at: datetime, actor: str) -> None:
        source = self.state
        target = transition.target(source)
        payload = {**payload, **{field: int(self.data.get(field) or 0) + 1 for field in transition.increments}}
        after = GuardContext({**self.data, **payload}, uk_date(at), self.workflow.calendar, self.parameters)  # derived values: recorded when they change
        payload.update(derived.changed(self.workflow.definition, self.data, after))
        self.add("Transitioned", at, actor, trigger=transition.trigger, source=source, target=target, data=payload)
        self.data.update(payload)
        self.state = target
        self._meet_deadlines(transition.trigger, at, actor)
        self.set_deadlines(transition.trigger, at, actor)
        self.findings(transition.trigger, at, actor)
        if target != source:
            for timer_id, timer in list(self.timers.items()):
                if timer["state"] == source:
                    self.add("TimerCancelled", at, actor, timer_id=timer_id, reason=f"left state {source!r}")
                    del self.timers[timer_id]
            self.enter_state(target, at, actor)
        if self.workflow.is_terminal(target):
            self._end(at, actor)

    def findings(self, trigger: str, at: datetime, actor: str, *, window: bool = True) -> None:
        """The warnings this trigger records (`laworkflow.cases.findings`); at the start (`window`), also a version out of force."""
        outside = [out_of_force(self.workflow, uk_date(at))] if trigger == START and window else []
        for fields in [f for f in outside if f] + findings_after(self.workflow, trigger, self.data, self.parameters, uk_date(at)):
            self.add("FindingRecorded", at, actor, **fields)

    def enter_state(self, state: str, at: datetime, actor: str) -> None:
        for timer in self.workflow.timers_by_state.get(state, []):
            due_date = self._resolve(timer.due, at, f"timer {timer.id!r}")
            due_at = _utc(start_of_day(due_date))
            self.add("TimerArmed", at, actor, timer_id=timer.id, trigger=timer.fires, state=state, due_at=due_at)
            self.timers[timer.id] = {"state": state, "due_at": due_at}

    def _meet_deadlines(self, trigger: str, at: datetime, actor: str) -> None:
        met_on = uk_date(at)
        for deadline in self.workflow.deadlines_met_by.get(trigger, []):
            entry = self.deadlines.get(deadline.id)
            if entry is None or entry["status"] not in ("pending", "missed"):
                continue
            due = date.fromisoformat(entry["due_date"])
            late = self.workflow.calendar.working_days_between(due, met_on) if within(due) else 0
            early = entry.get("earliest_date") is not None and met_on.isoformat() < entry["earliest_date"]
            timing = "late" if late else ("early" if early else "on_time")
            self.add("DeadlineMet", at, actor, deadline_id=deadline.id, met_on=met_on.isoformat(), late_by_working_days=late, timing=timing)
            entry["status"] = "met"

    def set_deadlines(self, trigger: str, at: datetime, actor: str) -> None:
        for deadline in self.workflow.deadlines_set_by.get(trigger, []):
            what = f"deadline {deadline.id!r}"
            due_date = self._resolve(deadline.due, at, what).isoformat()
            target = self._resolve(deadline.target, at, what).isoformat() if deadline.target else None
            earliest = self._resolve(deadline.earliest, at, what).isoformat() if deadline.earliest else None
            remind_on = None
            if deadline.remind_before:
                lead = self.workflow.duration(deadline.remind_before, self.parameters)
                remind_on = _inside(lead.before(date.fromisoformat(due_date), self.workflow.calendar), f"the reminder of {what} would fall on").isoformat()
            self.add(
                "DeadlineSet",
                at,
                actor,
                deadline_id=deadline.id,
                due_date=due_date,
                met_by=" or ".join(deadline.met_by),
                target_date=target,
                earliest_date=earliest,
                remind_on=remind_on,
            )
            self.deadlines[deadline.id] = {"due_date": due_date, "status": "pending", "earliest_date": earliest}

    def _end(self, at: datetime, actor: str) -> None:
        for timer_id in list(self.timers):
            self.add("TimerCancelled", at, actor, timer_id=timer_id, reason="case ended")
            del self.timers[timer_id]
        for deadline_id, entry in self.deadlines.items():
            if entry["status"] in ("pending", "missed"):
                self.add("DeadlineWithdrawn", at, actor, deadline_id=deadline_id, reason="case ended before it was met")
                entry["status"] = "withdrawn"

    def _resolve(self, due: str, at: datetime, what: str) -> date:
        rule = self.workflow.due_rule(due, self.parameters)
        if rule.anchor is None:
            anchor = uk_date(at)
        else:
            value = self.data.get(rule.anchor)
            if value is None:
                raise InvalidData(f"{what} counts from {rule.anchor!r}, which the case does not have yet")
            try:
                anchor = date.fromisoformat(str(value)[:10])
            except ValueError:
                raise InvalidData(f"{what} counts from {rule.anchor!r}, which is not a date: {value!r}") from None
            _inside(anchor, f"{what} counts from {rule.anchor!r}, which is")
        # Every timer and deadline a command derives passes here: one outside the range refuses the whole command.
        return _inside(rule.resolve(anchor, self.workflow.calendar), f"{what} ({due}) would fall due on")


__all__ = ["Case", "GENESIS", "event_digest", "stored_digest", "unexpected_fields"]
