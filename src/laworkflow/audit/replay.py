"""Conformance replay: would the definition a case pinned have recorded the events the store holds?

The hash chain and the Merkle tree prove that stored events were not changed
after the fact; they cannot prove that an event is one the definition would
have produced, since whoever can write to the database can also recompute a
digest and the chain after it. Replay closes that gap for everything but a
plausible command: each case's events are split back into the commands that
recorded them (`audit.commands`), each command is run again on a replica of
the case as stored just before it, with the inputs the stored events carry
(trigger, data, actor, effective time; for a timer the moment it fired, for a
reaction the child's data at the reported version), and the events the
definition gives are compared with the stored ones, field by field (all but
the recording time, digest, chain link and originator fields).

Each stored event that differs or has no counterpart is a finding, and so is
each event the definition gives that the store lacks. The case then goes on
from its STORED state, so one forged event is reported once, not again in
every command after it.

An event written straight into the database that the definition WOULD have
produced (a plausible command, appended after the last checkpoint kept
elsewhere) is indistinguishable from a real one: replay checks conformance,
not who typed the command. The comparison and its messages live in
`audit.conformance`.

A migration (`Migrated`) is replayed like a command: its events are planned
again (`cases.migrating.plan_case`) from the case as stored before it, with the
mapping, actor, reason and moment it recorded, onto the version it names; the
commands before it are replayed by the old definition, those after it by the new.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from laworkflow.audit.commands import Command, split_commands
from laworkflow.audit.conformance import Finding, compare, describe, type_name
from laworkflow.calendar.bounds import within
from laworkflow.calendar.clock import day_over_at, uk_date
from laworkflow.cases.case import Case
from laworkflow.cases.migrating import plan_case, record_migration
from laworkflow.cases.migration_events import Migrated
from laworkflow.cases.withdrawal import HEADS, mark_again, take_again
from laworkflow.definitions.derived import derived_fields
from laworkflow.definitions.machine import CompiledWorkflow
from laworkflow.engine import Engine
from laworkflow.errors import LaworkflowError, UnknownCase
from laworkflow.projections.followup import copy_data

_CACHED_CASES = 256  # cases whose events are kept while replaying others (a parent's children, a child's parent)


@dataclass
class ReplayReport:
    """What a replay found: counts, and every finding in case and event order."""

    cases: int = 0
    events: int = 0
    commands: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "cases": self.cases,
            "events": self.events,
            "commands": self.commands,
            "findings": [finding.to_dict() for finding in self.findings],
        }


@dataclass
class _Expected:
    """The events a command's replay gives, or why the definition gives none for its head."""

    events: list[Any] = field(default_factory=list)
    refused: str | None = None


def _set_by_caller(workflow: CompiledWorkflow, data: dict[str, Any]) -> dict[str, Any]:
    """Stored data without the derived fields the engine adds: the command's own data, which replay sends again (and so
    recomputes the derived values, a forged one then differing)."""
    derived = derived_fields(workflow.definition)
    return {key: value for key, value in data.items() if key not in derived}


def pinned_workflow(engine: Engine, started: Any) -> CompiledWorkflow:
    """The workflow a case pinned, word for word (the stored copy of the definition when its file has changed since):
    the `Started` it gives must name the very content hash the case pinned."""
    return engine.definitions.exact(started.definition_id, started.definition_version, started.definition_hash)


def reworded_workflow(engine: Engine, started: Any, pinned: CompiledWorkflow) -> CompiledWorkflow | None:
    """The catalog's workflow when it differs from the pinned content only in words (the case runs on it), else None.

    Commands taken after such an edit recorded the new words (a finding's
    message and citation); a command that does not conform to the pinned words
    is replayed again on these before it is reported."""
    current = engine.definitions.current(started.definition_id, started.definition_version, started.definition_hash)
    return current if current is not None and current.content_hash != pinned.content_hash else None


class Replayer:
    """Replays cases of one engine's store; keeps a few cases' events for the links between parents and children."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._events: OrderedDict[UUID, list[Any]] = OrderedDict()

    def replay(self, case_id: UUID | None = None) -> ReplayReport:
        report = ReplayReport()
        if case_id is not None and not self.events_of(case_id):
            raise UnknownCase(f"no case {case_id}")
        for cid in [case_id] if case_id is not None else self.engine.case_ids():
            try:
                events, commands, findings = self.case(cid)
            except Exception as error:  # events that do not even decode, or a forgery no command could take: said, not raised
                events, commands = 0, 0
                findings = [Finding(cid, None, "Case", "unreplayable", f"replaying it failed ({type(error).__name__}: {error})")]
            report.cases += 1
            report.events += events
            report.commands += commands
            report.findings += findings
        return report

    # ---------------------------------------------------------------- one case

    def case(self, case_id: UUID) -> tuple[int, int, list[Finding]]:
        """(stored events, commands, findings) for one case."""
        events = self.events_of(case_id)
        if not events or not isinstance(events[0], Case.Started):
            return len(events), 0, [Finding(case_id, None, "Case", "unreplayable", "its first stored event is not Started")]
        started = events[0]
        try:
            workflow = pinned_workflow(self.engine, started)
        except LaworkflowError as error:
            return len(events), 0, [Finding(case_id, None, "Case", "unreplayable", f"its definition cannot be had: {error}")]
        findings = self._parent_link(case_id, started)
        commands = split_commands(events)
        reworded = reworded_workflow(self.engine, started, workflow)
        fold: Case | None = None
        for command in commands:
            found = self._command(case_id, workflow, fold, command)
            if found and reworded is not None and not self._command(case_id, reworded, fold, command):
                found = []  # taken after the words were edited, on the new words
            findings += found
            reported = {f.version for f in found}
            for event in command.events:
                fold = self._apply(case_id, fold, event, findings, reported)
            if fold is not None and fold.definition_hash != workflow.content_hash:  # migrated: what follows runs on the new version
                try:
                    workflow = self.engine.definitions.exact(fold.definition_id, fold.definition_version, fold.definition_hash)
                    reworded = None  # a words-only edit of the old version no longer concerns what follows
                except LaworkflowError as error:
                    return len(events), len(commands), [*findings, Finding(case_id, None, "Case", "unreplayable", f"its new definition cannot be had: {error}")]
        return len(events), len(commands), findings

    def events_of(self, case_id: UUID) -> list[Any]:
        if case_id in self._events:
            self._events.move_to_end(case_id)
            return self._events[case_id]
        events = list(self.engine.events.get(case_id))
        self._events[case_id] = events
        if len(self._events) > _CACHED_CASES:
            self._events.popitem(last=False)
        return events

    def _apply(self, case_id: UUID, fold: Case | None, event: Any, findings: list[Finding], reported: set[int | None]) -> Case | None:
        """The stored state after `event`; an event that cannot even be applied is reported and skipped."""
        try:
            mutated: Case | None = event.mutate(fold)
            return mutated
        except Exception as error:  # a forged event the aggregate itself cannot take (an unknown deadline, a version gap)
            if event.originator_version not in reported:
                findings.append(
                    Finding(
                        case_id, event.originator_version, type_name(event), "unexpected", f"cannot be applied to the case ({type(error).__name__}: {error})"
                    )
                )
            if fold is not None:
                fold.version = event.originator_version
            return fold

    def _parent_link(self, case_id: UUID, started: Any) -> list[Finding]:
        """A child case must have been started by its parent: the parent's ChildLinked names it."""
        if not started.parent_id:
            return []
        try:
            parent = self.events_of(UUID(started.parent_id))
        except ValueError:
            parent = []
        if any(isinstance(e, Case.ChildLinked) and e.child_id == str(case_id) for e in parent):
            return []
        return [Finding(case_id, 1, "Started", "unexpected", f"names case {started.parent_id} as its parent, which never started it")]

    # -------------------------------------------------------------- one command

    def _command(self, case_id: UUID, workflow: CompiledWorkflow, before: Case | None, command: Command) -> list[Finding]:
        expected = self._expected(case_id, workflow, before, command)
        if expected.refused is None:
            named = f"the {command.kind} at event {command.events[0].originator_version}"
            return compare(case_id, command.events, expected.events, named) + self._children(case_id, workflow, before, command)
        run = command.missed  # the head is refused: its missed deadlines may still be the scheduler's, recorded before it
        findings = compare(case_id, run, self._missed_only(workflow, before, run))
        rest = command.events[len(run) :]
        for event in rest:
            why = expected.refused if event is rest[0] else f"recorded with event {rest[0].originator_version}, which the definition would not record"
            findings.append(Finding(case_id, event.originator_version, type_name(event), "unexpected", why))
        return findings

    def _expected(self, case_id: UUID, workflow: CompiledWorkflow, before: Case | None, command: Command) -> _Expected:
        head = command.head
        if head is None:
            return _Expected(self._missed_only(workflow, before, command.events))
        try:
            if isinstance(head, Case.Started):
                if before is not None:
                    return _Expected(refused="a case starts once; this one had started at event 1")
                started = Case.begin(
                    workflow,
                    data=_set_by_caller(workflow, head.data),
                    parameters=head.parameters,
                    actor=head.actor,
                    at=head.effective_at,
                    case_id=head.originator_id,
                    parent_id=head.parent_id,
                )
                return _Expected(list(started.collect_events()))
            if before is None:
                return _Expected(refused="the case has not started")
            replica = copy.deepcopy(before)
            refused = None
            if isinstance(head, Case.Transitioned):
                increments = {name for t in workflow.transitions_from(before.state, head.trigger) for name in t.increments}
                payload = {k: v for k, v in _set_by_caller(workflow, head.data).items() if k not in increments}
                transition = replica.fire(workflow, head.trigger, payload, actor=head.actor, at=head.effective_at)
                self._spawned(replica, transition, command, head.actor, head.effective_at)
                mark_again(replica, command.events)  # a bulk operation's mark, recorded with the trigger it fired
            elif isinstance(head, HEADS):  # withdrawn, or its pending work reassigned (`cases.withdrawal`)
                take_again(replica, workflow, head)
            elif isinstance(head, Case.ChildReported):
                refused = self._react(case_id, workflow, replica, head, command)
            elif isinstance(head, Migrated):
                refused = self._migrate(case_id, workflow, replica, head, command)
            else:
                refused = self._fire_timer(workflow, replica, head)
        except (LaworkflowError, ValueError, OverflowError) as refusal:  # ValueError, OverflowError: a moment no clock gives (a forged lateness)
            return _Expected(refused=f"the definition refuses it: {refusal}")
        return _Expected(refused=refused) if refused is not None else _Expected(list(replica.collect_events()))

    def _fire_timer(self, workflow: CompiledWorkflow, replica: Case, head: Any) -> str | None:
        """Fire the timer at the moment the stored event says it fired; None, or why it would not have."""
        timer = replica.timers.get(head.timer_id)
        if timer is None:
            return f"timer {head.timer_id!r} was not armed (never armed, or it had already fired or been cancelled)"
        if timer["state"] != replica.state:
            return f"timer {head.timer_id!r} was armed in state {timer['state']!r}, and the case was in {replica.state!r}"
        at = head.due_at + timedelta(seconds=head.lateness_seconds) if isinstance(head, Case.TimerFired) else head.effective_at
        replica.fire_timer(workflow, head.timer_id, at=at)
        return None

    def _react(self, case_id: UUID, workflow: CompiledWorkflow, replica: Case, head: Any, command: Command) -> str | None:
        """Take the reported child event as the follow-up manager would; None, or why no reaction was due."""
        try:
            child_id = UUID(head.child_id)
        except ValueError:
            return f"{head.child_id!r} is not a case id"
        child = self.events_of(child_id)
        if not child or not isinstance(child[0], Case.Started) or child[0].parent_id != str(case_id):
            return f"case {child_id} is not a child of this case"
        if not 1 <= head.child_version <= len(child):
            return f"child case {child_id} has no event {head.child_version}"
        moved = child[head.child_version - 1]
        if not isinstance(moved, Case.Transitioned) or moved.source == moved.target:
            return f"event {head.child_version} of child case {child_id} is a {type_name(moved)}, not a change of state"
        listening = workflow.reactions_to.get(child[0].definition_id, [])
        reactions = [r for r in listening if moved.target in r.reaches]
        if not reactions:
            states = sorted({state for r in listening for state in r.reaches})
            return f"the child entered {moved.target!r}; this definition reacts to {child[0].definition_id} reaching {', '.join(states) or 'no state'}"
        reaction = reactions[0]  # the follow-up manager takes them in order; the first is recorded, the rest find it reported
        folded: Case | None = None
        try:
            for event in child[: head.child_version]:
                folded = event.mutate(folded)
        except Exception as error:  # the child's own record is broken: its replay says where
            return f"child case {child_id} cannot be read up to event {head.child_version} ({type(error).__name__}: {error})"
        assert folded is not None
        transition = replica.react(
            workflow, reaction, copy_data(reaction.data, folded.data), child_id=child_id, child_version=head.child_version, at=moved.effective_at
        )
        if not replica.pending_events:
            return f"event {head.child_version} of child case {child_id} had already been reported"
        assert replica.effective_at is not None
        self._spawned(replica, transition, command, head.actor, replica.effective_at)
        return None

    def _migrate(self, case_id: UUID, workflow: CompiledWorkflow, replica: Case, head: Any, command: Command) -> str | None:
        """Plan the migration again from the case as stored before it, with what the stored `Migrated` says; None, or why not."""
        if head.from_version != replica.definition_version or head.from_hash != replica.definition_hash:
            return f"it says the case ran on version {head.from_version} ({head.from_hash[:12]}); it ran on {replica.key} ({replica.definition_hash[:12]})"
        target = self.engine.definitions.exact(replica.definition_id, head.to_version, head.to_hash)
        before = self.events_of(case_id)[: command.events[0].originator_version - 1]
        mapping = {head.source_state: head.target_state} if head.source_state != head.target_state else {}
        migration = plan_case(replica, before, workflow, target, head.effective_at, mapping, actor=head.actor, reason=head.reason)
        if not migration.ok:
            return "; ".join(migration.refusals)
        record_migration(replica, migration)
        return None

    def _missed_only(self, workflow: CompiledWorkflow, before: Case | None, run: list[Any]) -> list[Any]:
        """The scheduler's `record_missed_deadlines`, at the end of the day the latest of the run's deadlines fell due."""
        if before is None:
            return []
        days = []
        for event in run:
            entry = before.deadlines.get(event.deadline_id)
            try:
                day = date.fromisoformat(entry["due_date"]) if entry else None
            except ValueError:
                day = None
            if day is not None and within(day):
                days.append(day)
        if not days:
            return []
        replica = copy.deepcopy(before)
        replica.record_missed_deadlines(workflow, at=day_over_at(max(days)))
        return list(replica.collect_events())

    # ----------------------------------------------------------------- children

    def _spawned(self, replica: Case, transition: Any, command: Command, actor: str, at: Any) -> None:
        """The ChildLinked the engine records when a transition starts a child (the child's id is the stored one)."""
        if transition is None or transition.starts is None:
            return
        stored = next((e for e in command.events if isinstance(e, Case.ChildLinked)), None)
        child_id = UUID(stored.child_id) if stored is not None else UUID(int=0)
        child = self.events_of(child_id) if stored is not None else []
        if child and isinstance(child[0], Case.Started) and child[0].definition_id == transition.starts.workflow:
            key = f"{child[0].definition_id}@{child[0].definition_version}"
        else:
            key = self.engine.catalog.get(transition.starts.workflow, on=uk_date(at), strict=False).key
        replica.link_child(child_id, key, transition.trigger, actor=actor, at=at)

    def _children(self, case_id: UUID, workflow: CompiledWorkflow, before: Case | None, command: Command) -> list[Finding]:
        """Each child a command linked: started by it, at its moment, with the data its transition copies."""
        findings = []
        for link in (e for e in command.events if isinstance(e, Case.ChildLinked)):
            version = link.originator_version
            try:
                child = self.events_of(UUID(link.child_id))
            except ValueError:
                child = []
            if not child or not isinstance(child[0], Case.Started) or child[0].parent_id != str(case_id):
                findings.append(Finding(case_id, version, "ChildLinked", "differs", f"case {link.child_id} was not started as this case's child"))
                continue
            started = child[0]
            problems = [
                f"its {name} is {getattr(started, name)!r}, not {getattr(link, name)!r}"
                for name in ("actor", "effective_at")
                if getattr(started, name) != getattr(link, name)
            ]
            spec = next((t.starts for t in workflow.definition.transitions if t.trigger == link.trigger and t.starts is not None), None)
            if spec is not None and before is not None:
                parent_data = {**before.data, **{k: v for e in command.events if isinstance(e, Case.Transitioned) for k, v in e.data.items()}}
                child_workflow = pinned_workflow(self.engine, started)
                try:
                    wanted = child_workflow.start_payload(copy_data(spec.data, parent_data), uk_date(started.effective_at), started.parameters, "the child")
                except LaworkflowError as error:
                    wanted = {"(cannot be had)": str(error)}
                if wanted != started.data:
                    problems.append(f"it started with data {started.data!r}; the transition gives {wanted!r}")
            if problems:
                findings.append(Finding(case_id, version, "ChildLinked", "differs", f"child case {link.child_id}: " + "; ".join(problems)))
        return findings


def replay(engine: Engine, case_id: UUID | None = None) -> ReplayReport:
    """Replay one case, or every case of the store, against the definitions they pinned."""
    return Replayer(engine).replay(case_id)


__all__ = ["ReplayReport", "Replayer", "describe", "pinned_workflow", "replay"]
