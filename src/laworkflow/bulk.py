"""Bulk operations on the cases a search finds: fire one trigger on many, withdraw, reassign pending work.

Each has two steps, as a back office needs them: a plan (the dry run), which
says for every case found what would happen or why it would be refused and
writes nothing, and the apply, which does it case by case. The cases are those
`Engine.cases` finds with the filters of `laworkflow cases` (every page), fixed
when the operation starts: a case that moves meanwhile is judged as it then is.

Every case is its own atomic save: what the operation does to it and the record
that it did (`BulkApplied`, or the operation id `Withdrawn` and `Reassigned`
carry) are written together or not at all. A refusal on one case (the trigger
not allowed from its state, a guard that fails, a case withdrawn or ended)
is listed, with the engine's words, and the others go on. So a crash part-way
leaves each case done or not, and running the same operation again (the same
operation id) does only what is left: the cases carrying the id are listed as
already done. The id is a digest of what the operation does and the filters it
was given, unless one is named; the same command run twice is the same operation.

The dry run of `fire` takes the trigger on a copy of each case, as the engine
would at that moment (the same check as `Case.fire`, data and guards
included), and throws the copy away: what it lists as firing is what the apply
fires unless the case changes in between.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from laworkflow.calendar.clock import aware
from laworkflow.cases.case import Case
from laworkflow.cases.views import View
from laworkflow.cases.withdrawal import BulkApplied, Reassigned, operations_of, record, responsible, withdraw, withdrawn_of
from laworkflow.definitions.machine import CompiledWorkflow
from laworkflow.engine import Engine
from laworkflow.errors import InvalidData, LaworkflowError
from laworkflow.logs import get_logger
from laworkflow.projections.case_search import MAX_LIMIT, CaseQuery

log = get_logger("laworkflow.bulk")

# What each outcome is called in a plan (dry run) and once applied.
WOULD = {"fire": "would fire", "withdraw": "would withdraw", "reassign": "would reassign"}
DONE = {"fire": "fired", "withdraw": "withdrawn", "reassign": "reassigned"}
REFUSED = "refused"
ALREADY = "already done"


@dataclass(frozen=True)
class BulkItem(View):
    """One case of a bulk operation: what happened to it (or would), and why in the engine's words."""

    case_id: UUID
    workflow: str
    state: str  # before the operation
    outcome: str  # WOULD[...] / DONE[...], "refused" or "already done"
    detail: str


@dataclass(frozen=True)
class BulkReport(View):
    """A bulk operation's plan (`applied` False: nothing was written) or its result."""

    operation: str  # fire, withdraw, reassign
    operation_id: str
    description: str
    applied: bool
    items: list[BulkItem]

    @property
    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for item in self.items:
            found[item.outcome] = found.get(item.outcome, 0) + 1
        return found

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "counts": self.counts}


def operation_id(operation: str, query: CaseQuery, **arguments: Any) -> str:
    """The id a bulk operation is recorded under: a digest of what it does and the filters it was given (not the page size or cursor)."""
    filters = {k: str(v) if v is not None else None for k, v in dataclasses.asdict(query).items() if k not in ("limit", "after", "sort")}
    text = json.dumps({"operation": operation, "filters": filters, **arguments}, sort_keys=True, default=str)
    return f"bulk-{operation}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def matching(engine: Engine, query: CaseQuery) -> list[UUID]:
    """Every case the search finds, all pages, in the order they started (a bad filter: InvalidData, before anything is done)."""
    query = dataclasses.replace(query, sort="started", limit=MAX_LIMIT, after=None)
    found: list[UUID] = []
    while True:
        page = engine.cases(query)
        found += [row.case_id for row in page.cases]
        if page.next is None:
            return found
        query = dataclasses.replace(query, after=page.next)


Act = Callable[[Case, CompiledWorkflow], tuple[str, list[Case]]]  # records the operation's events on a case; what it did, in words, and any child it starts


def _each(
    engine: Engine,
    operation: str,
    op_id: str,
    description: str,
    cases: list[UUID],
    act: Act,
    *,
    apply: bool,
    command: bool,
    on_item: Callable[[BulkItem], None] | None,
) -> BulkReport:
    """Try `act` on each case: on a copy for a plan, for real (one atomic save per case) when applying."""
    items = []
    for case_id in cases:
        item = _one(engine, operation, op_id, case_id, act, apply=apply, command=command)
        items.append(item)
        if on_item is not None:
            on_item(item)
    return BulkReport(operation, op_id, description, apply, items)


def _one(engine: Engine, operation: str, op_id: str, case_id: UUID, act: Act, *, apply: bool, command: bool) -> BulkItem:
    seen: dict[str, Any] = {}

    def attempt() -> BulkItem:
        case, workflow = engine._load(case_id, command=command)
        seen.update(workflow=case.key, state=case.state)
        if op_id in operations_of(case):
            return BulkItem(case_id, case.key, case.state, ALREADY, f"this operation ({op_id}) was recorded on it before")
        target = case if apply else copy.deepcopy(case)
        state = case.state
        said, spawned = act(target, workflow)
        if not apply:
            return BulkItem(case_id, case.key, state, WOULD[operation], said)
        engine._save(target, *spawned)
        log.info("bulk.applied", operation_id=op_id, case_id=str(case_id), workflow=case.key, state=target.state)
        return BulkItem(case_id, case.key, state, DONE[operation], said)

    try:
        item = engine.retrying(attempt)
    except LaworkflowError as refusal:
        return BulkItem(case_id, seen.get("workflow", "?"), seen.get("state", "?"), REFUSED, str(refusal))
    if apply and item.outcome == DONE[operation]:
        engine.follow_up()  # a child that moved: its parent reacts now, as after any command
    return item


def _moment(engine: Engine, at: datetime | str | None, case: Case) -> datetime:
    """`at`, or now — never before the case's last event, as `Engine.fire` takes it."""
    if at is not None:
        return aware(at)
    now = engine.clock.now()
    return max(now, case.effective_at or now)


def fire(
    engine: Engine,
    query: CaseQuery,
    trigger: str,
    data: dict[str, Any] | None = None,
    *,
    actor: str,
    at: datetime | str | None = None,
    reason: str | None = None,
    apply: bool = False,
    op_id: str | None = None,
    on_item: Callable[[BulkItem], None] | None = None,
) -> BulkReport:
    """Fire `trigger` (with `data`) on every case found; refused cases are listed with the engine's words and skipped."""
    if not trigger.strip():
        raise InvalidData("give the trigger to fire")
    op_id = op_id or operation_id("fire", query, trigger=trigger, data=data or {}, at=at, actor=actor, reason=reason)
    cases = matching(engine, query)

    def act(case: Case, workflow: CompiledWorkflow) -> tuple[str, list[Case]]:
        moment = _moment(engine, at, case)
        source = case.state
        transition = case.fire(workflow, trigger, data, actor=actor, at=moment)
        spawned = engine._spawn(case, transition, actor, moment)  # a child it starts is saved with it (only when applying)
        record(case, BulkApplied, actor=actor, effective_at=case.effective_at, operation_id=op_id, operation=f"fire {trigger}", reason=reason)
        return f"{trigger}: {source} -> {case.state}", spawned

    return _each(engine, "fire", op_id, f"fire {trigger!r}", cases, act, apply=apply, command=True, on_item=on_item)


def withdraw_cases(
    engine: Engine,
    query: CaseQuery,
    *,
    reason: str,
    actor: str,
    at: datetime | str | None = None,
    apply: bool = False,
    op_id: str | None = None,
    on_item: Callable[[BulkItem], None] | None = None,
) -> BulkReport:
    """Withdraw every case found (`cases.withdrawal`): ended where it stands, its timers cancelled and deadlines withdrawn."""
    if not reason.strip():
        raise InvalidData("--reason is required: say why the cases are withdrawn")
    op_id = op_id or operation_id("withdraw", query, reason=reason, at=at, actor=actor)
    cases = matching(engine, query)

    def act(case: Case, workflow: CompiledWorkflow) -> tuple[str, list[Case]]:
        timers, pending = len(case.timers), sum(1 for d in case.deadlines.values() if d["status"] in ("pending", "missed"))
        withdraw(case, workflow, reason=reason, actor=actor, at=_moment(engine, at, case), operation_id=op_id)
        return f"withdrawn in {case.state!r}: {timers} timer(s) cancelled, {pending} deadline(s) withdrawn", []

    # A case pinned to content its file no longer has can still be withdrawn: the pinned definition is only read.
    return _each(engine, "withdraw", op_id, "withdraw", cases, act, apply=apply, command=False, on_item=on_item)


def reassign(
    engine: Engine,
    query: CaseQuery,
    *,
    from_actor: str,
    to_actor: str,
    actor: str,
    at: datetime | str | None = None,
    reason: str | None = None,
    apply: bool = False,
    op_id: str | None = None,
    on_item: Callable[[BulkItem], None] | None = None,
) -> BulkReport:
    """Make `to_actor` responsible for the pending work of every case found that `from_actor` answers for (`cases.withdrawal.responsible`).

    A case with no pending work (no armed timer, no standing deadline), one withdrawn, or one someone else answers for is refused.
    """
    if not from_actor.strip() or not to_actor.strip():
        raise InvalidData("--from and --to each name an actor")
    if from_actor == to_actor:
        raise InvalidData(f"--from and --to are both {from_actor!r}: nothing to reassign")
    op_id = op_id or operation_id("reassign", query, from_actor=from_actor, to_actor=to_actor, at=at, actor=actor, reason=reason)
    cases = matching(engine, query)

    def act(case: Case, workflow: CompiledWorkflow) -> tuple[str, list[Case]]:
        if withdrawn_of(case) is not None:
            raise InvalidData(f"case {case.id} was withdrawn: it has no pending work")
        now = responsible(case, list(engine.events.get(case.id)))
        if now != from_actor:
            raise InvalidData(f"case {case.id}'s pending work is {now!r}'s, not {from_actor!r}'s")
        pending = [f"timer {t}" for t in sorted(case.timers)] + [f"deadline {d}" for d, e in sorted(case.deadlines.items()) if e["status"] == "pending"]
        if not pending:
            raise InvalidData(f"case {case.id} has no pending work (no armed timer, no standing deadline)")
        moment = case._check_time(_moment(engine, at, case))
        record(case, Reassigned, actor=actor, effective_at=moment, from_actor=from_actor, to_actor=to_actor, reason=reason, operation_id=op_id)
        return f"{', '.join(pending)}: {from_actor} -> {to_actor}", []

    return _each(engine, "reassign", op_id, f"reassign {from_actor!r} to {to_actor!r}", cases, act, apply=apply, command=False, on_item=on_item)


__all__ = ["ALREADY", "DONE", "REFUSED", "WOULD", "BulkItem", "BulkReport", "fire", "matching", "operation_id", "reassign", "withdraw_cases"]
