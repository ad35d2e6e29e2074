"""Due items handled in batches: every case decided on its own, all their events committed in one transaction.

On disk a command's cost is mostly its commit (an fsync on SQLite, the
notification table's lock on PostgreSQL), so the scheduler decides a batch of
due items — each case loaded, its timers fired and missed deadlines recorded,
exactly as `Engine.fire_timer` and `Engine.record_missed_deadlines` would — and
saves every changed case with one `Application.save(*cases)`: one transaction,
one commit.

A batch is all or nothing, so one case must not spoil it for the others:

- another writer saved a case first (the store refuses the batch with an
  IntegrityError): the cases whose stored version moved past the one loaded are
  taken out and handled alone, through the engine's own retrying commands; the
  rest are loaded and decided again and committed together;
- a case whose handling raises anything else (a definition changed under it, a
  bug) is taken out before the save and handled alone, so only its own items
  are quarantined or put back, as the scheduler did one item at a time.

Exactly-once is kept as before: the index rows are dropped when the claim
ends, after the commit, and a crash in between costs a second look at items
whose timers are already fired, which the case refuses without writing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from laworkflow.cases.case import Case
from laworkflow.cases.views import DueItem
from laworkflow.definitions.machine import CompiledWorkflow
from laworkflow.engine import Engine
from laworkflow.errors import ConcurrentChange
from laworkflow.logs import get_logger
from laworkflow.store import RETRIES, latest_versions

log = get_logger("laworkflow.scheduler")


@dataclass
class Outcome:
    """What became of a batch's items: handled (committed or rightly skipped), to be tried again, or failed with the error."""

    handled: list[DueItem] = field(default_factory=list)
    retry: list[DueItem] = field(default_factory=list)
    failed: list[tuple[DueItem, Exception]] = field(default_factory=list)
    recorded: list[tuple[int, Any]] = field(default_factory=list)  # the batch's events as saved: (notification id, event), for the index
    workflows: dict[UUID, str] = field(default_factory=dict)  # the workflow of each case those events belong to


@dataclass
class _Decided:
    case: Case
    loaded_version: int
    items: list[DueItem]
    fired: list[bool]


def handle_batch(engine: Engine, items: list[DueItem], *, at: datetime) -> Outcome:
    """Handle due items: the cases' events in one transaction; a conflicting or failing case alone, as `handle_alone`."""
    outcome = Outcome()
    by_case: dict[UUID, list[DueItem]] = {}
    alone: list[DueItem] = []
    for item in items:
        if item.kind == "reminder":  # no event: a notification queued (Engine.handle)
            alone.append(item)
        else:
            by_case.setdefault(item.case_id, []).append(item)
    for _ in range(RETRIES):
        if not by_case:
            break
        decided = _decide(engine, by_case, at, alone)
        changed = [d for d in decided if d.case.pending_events]
        try:
            if changed:
                recordings = engine.save(*(d.case for d in changed), handed_over=True)
                outcome.recorded = [(r.notification.id, r.domain_event) for r in recordings]
                outcome.workflows = {d.case.id: d.case.key for d in changed}
        except IntegrityError:
            for d in changed:  # decided but not saved: the cache must not keep what the store refused
                _forget(engine, d.case.id)
            lost = _conflicting(engine, changed)
            log.info("batch.conflict", cases=len(changed), conflicting=len(lost))
            for d in lost:  # retried alone; the others are loaded, decided and saved again together
                alone.extend(by_case.pop(d.case.id))
            continue
        except Exception:  # the store failed otherwise: each alone, classified as one item at a time always was
            for d in changed:
                _forget(engine, d.case.id)
            break
        _committed(engine, decided, at, outcome)
        by_case = {}
    for case_items in by_case.values():  # still conflicting after the retries: each alone
        alone.extend(case_items)
    for item in alone:
        handle_alone(engine, item, at=at, outcome=outcome)
    return outcome


def handle_alone(engine: Engine, item: DueItem, *, at: datetime, outcome: Outcome) -> None:
    """One item through the engine's command (its own transaction and retries): a lost race is retried later, any other error fails it."""
    try:
        engine.handle(item, at=at)
    except ConcurrentChange as error:
        outcome.retry.append(item)
        log.warning("scheduler.item_retry", case_id=str(item.case_id), item=item.name, error=str(error))
    except Exception as error:  # any other: the caller sets it aside and goes on
        outcome.failed.append((item, error))
    else:
        outcome.handled.append(item)


def _decide(engine: Engine, by_case: dict[UUID, list[DueItem]], at: datetime, alone: list[DueItem]) -> list[_Decided]:
    """Load each case and decide its items in due order; a case that raises is moved to `alone` (and out of `by_case`)."""
    decided: list[_Decided] = []
    behind = _behind(engine, list(by_case))
    for case_id in list(by_case):
        case_items = by_case[case_id]
        try:
            case, workflow = _held(engine, case_id, behind)
            loaded_version = case.version
            fired = []
            for item in case_items:
                if item.kind == "timer":
                    fired.append(case.fire_timer(workflow, item.name, at=at))
                else:
                    fired.append(case.record_missed_deadlines(workflow, at=at) > 0)
        except Exception:  # handled alone, where it is classified (retried or quarantined) as before
            _forget(engine, case_id)
            alone.extend(by_case.pop(case_id))
            continue
        decided.append(_Decided(case, loaded_version, case_items, fired))
    return decided


def _held(engine: Engine, case_id: UUID, behind: set[UUID]) -> tuple[Case, CompiledWorkflow]:
    """The case the engine's cache holds, itself, and the workflow a command decides it on.

    Not a copy: the caller holds the engine's lock, so no one else sees the case
    while it is decided, and a case that fails is dropped from the cache
    (`_forget`). Not read again from the store unless it is `behind` (`_behind`):
    should another writer have moved it unseen, the save is refused (the store's
    version check) and the case handled alone, read afresh.
    """
    cache = engine.repository.cache
    if cache is None:
        return engine._load(case_id)
    held: object = None
    if case_id in behind:
        held = engine.repository.get(case_id, deepcopy_from_cache=False)  # the cached object, fast-forwarded in place
    else:
        try:
            held = cache.get(case_id)
        except KeyError:
            pass
    if not isinstance(held, Case):
        held, _ = engine._load(case_id)
        cache.put(case_id, held)  # this copy becomes the cached case, saved as it is
    return held, engine.definitions.for_command(held.definition_id, held.definition_version, held.definition_hash)


def _behind(engine: Engine, ids: list[UUID]) -> set[UUID]:
    """The cached cases another node has saved past, where several nodes write (one query for the batch); none on one node's store."""
    cache = engine.repository.cache
    if cache is None or not engine.due_store.shared or not ids:
        return set()
    stored = latest_versions(engine.recorder, ids)
    behind = set()
    for case_id in ids:
        try:
            cached = cache.get(case_id)
        except KeyError:
            continue
        if stored.get(case_id, 0) > getattr(cached, "version", 0):
            behind.add(case_id)
    return behind


def _forget(engine: Engine, case_id: UUID) -> None:
    """Drop a case from the cache: it was changed and not saved, so the next command reads it from the store."""
    if engine.repository.cache is not None:
        try:
            engine.repository.cache.get(case_id, evict=True)
        except KeyError:
            pass


def _conflicting(engine: Engine, changed: list[_Decided]) -> list[_Decided]:
    """The cases another writer saved since they were loaded (all of them if none did: the conflict was elsewhere)."""
    lost = [d for d in changed if list(engine.recorder.select_events(d.case.id, gt=d.loaded_version, limit=1))]
    return lost or changed


def _committed(engine: Engine, decided: list[_Decided], at: datetime, outcome: Outcome) -> None:
    """Log what the batch did, as the one-item commands do, and let parents react to children that moved."""
    moved_child = False
    for d in decided:
        for item, fired in zip(d.items, d.fired, strict=True):
            outcome.handled.append(item)
            if item.kind == "timer":
                event = "timer.fired" if fired else "timer.skipped"
                log.info(event, case_id=str(d.case.id), workflow=d.case.key, timer_id=item.name, at=at.isoformat())
            elif fired:
                log.info("deadline.missed", case_id=str(d.case.id), workflow=d.case.key)
            moved_child = moved_child or (fired and d.case.parent_id is not None)
    if moved_child:
        engine.follow_up()


__all__ = ["Outcome", "handle_alone", "handle_batch"]
