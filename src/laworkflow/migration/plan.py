"""A migration of running cases from one version of a workflow to another: `plan` reads, `apply` writes.

`plan` reads every matching case and says, per case, what moving it would do
(`cases.migrating.plan_case`: the state it lands in, data missing, parameters
that change, each timer and deadline kept, re-armed, moved, added or
withdrawn, with old and new due dates) and which cases cannot move and why.
It writes nothing, so the back office sees every deadline's fate first.

`apply` takes such a plan (in memory, or read back from its JSON) and, case
by case, records `Migrated` and the re-armed timers and deadlines in one
atomic save of that case. It is idempotent and resumable: a case already on
the target version is skipped and reported, so running it again after a
crash finishes the rest, and a case that changed since it was planned is not
migrated blind but reported, to be planned again. Which version the plan
goes to is pinned by content hash: if the target file changed since, nothing
is applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from laworkflow.calendar.clock import aware, uk_date
from laworkflow.cases.case import Case
from laworkflow.cases.migrating import CaseMigration, Change, plan_case, record_migration
from laworkflow.cases.views import jsonable
from laworkflow.definitions.machine import CompiledWorkflow
from laworkflow.engine import Engine
from laworkflow.errors import LaworkflowError, UnknownCase
from laworkflow.logs import get_logger
from laworkflow.store import save_or_conflict

log = get_logger("laworkflow")
PLAN_FORMAT = "laworkflow-migration-plan/1"


class MigrationError(LaworkflowError):
    """A migration asked for that cannot be planned or applied as given; nothing was written."""

    code = "bad_migration"


def parse_key(text: str, what: str) -> tuple[str, int]:
    """`workflow@N`, or MigrationError saying what to write."""
    name, _, number = text.partition("@")
    if not name or not number.isdigit() or int(number) < 1:
        raise MigrationError(f"{what} {text!r} must name a workflow and a version, e.g. ofsted-laassi@2")
    return name, int(number)


@dataclass
class Plan:
    """Per case, what the migration would do; nothing in it has been written."""

    source: str
    target: str
    target_hash: str
    at: datetime
    mapping: dict[str, str]
    cases: list[CaseMigration] = field(default_factory=list)
    skipped: list[tuple[UUID, str]] = field(default_factory=list)  # already on the target version: nothing to do

    @property
    def movable(self) -> list[CaseMigration]:
        return [c for c in self.cases if c.ok]

    @property
    def refused(self) -> list[CaseMigration]:
        return [c for c in self.cases if not c.ok]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "from": self.source,
            "to": self.target,
            "to_hash": self.target_hash,
            "at": jsonable(self.at),
            "state_mapping": dict(self.mapping),
            "cases": [c.to_dict() for c in self.movable],
            "cannot_migrate": [{"case": str(c.case_id), "authority": c.authority, "state": c.source_state, "why": c.refusals} for c in self.refused],
            "skipped": [{"case": str(cid), "why": why} for cid, why in self.skipped],
        }

    def text(self) -> str:
        lines = [
            f"Migration plan: {self.source} -> {self.target} ({self.target_hash[:12]}), taking effect {jsonable(self.at)}",
            f"Nothing has been written. {len(self.movable)} case(s) can move, {len(self.refused)} cannot, {len(self.skipped)} already moved.",
        ]
        for case in self.movable:
            lines += ["", f"case {case.case_id}  {case.authority or '(no authority)'}  state {case.source_state} -> {case.target_state}"]
            lines += [f"  parameter {n}: {_shown(old)} -> {_shown(new)}" for n, old, new in case.parameters]
            lines += [f"  {_change_line(c)}" for c in case.changes] or ["  no timer or deadline standing"]
        if self.refused:
            lines += ["", "cannot be migrated:"]
            lines += [f"  case {c.case_id}  {c.authority or '(no authority)'}: {'; '.join(c.refusals)}" for c in self.refused]
        if self.skipped:
            lines += ["", "already moved:"] + [f"  case {cid}: {why}" for cid, why in self.skipped]
        return "\n".join(lines)


def _shown(value: Any) -> str:
    return "(none)" if value is None else repr(value)


def _change_line(change: Change) -> str:
    change = Change(**change.to_dict())  # moments in UK time, as the JSON gives them
    due = {
        "withdrawn": f"was due {change.old_due}",
        "added": f"due {change.new_due}",
        "moved": f"{change.old_due} -> {change.new_due}",
    }.get(change.action, f"due {change.new_due}")
    since = f" (counted from {change.counted_from})" if change.counted_from else ""
    note = f"; {change.note}" if change.note else ""
    return f"{change.kind:<8} {change.name:<24} {change.action:<9} {due}{since}{note}"


# ----------------------------------------------------------------------- plan


def _target_of(engine: Engine, source: str, target: str) -> tuple[str, int, CompiledWorkflow]:
    source_id, source_version = parse_key(source, "--from")
    target_id, target_version = parse_key(target, "--to")
    if source_id != target_id:
        raise MigrationError(f"a case moves between versions of its own workflow: --from {source} and --to {target} name different workflows")
    if source_version == target_version:
        raise MigrationError(f"--from and --to are both {source}: nothing to migrate")
    try:
        compiled = engine.catalog.get(target_id, target_version)
    except LaworkflowError as error:
        raise MigrationError(f"--to {target}: {error}") from None
    return source_id, source_version, compiled


def _load(engine: Engine, case_id: UUID) -> tuple[Case, list[Any]]:
    events: list[Any] = list(engine.events.get(case_id))
    if not events or not isinstance(events[0], Case.Started):
        raise UnknownCase(f"no case {case_id}")
    case: Case | None = None
    for event in events:
        case = event.mutate(case)
    assert case is not None
    return case, events


def mapping_of(target: CompiledWorkflow, source_version: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The state mapping the target version's YAML gives for cases of `source_version`, then any given here."""
    specs = getattr(target.definition, "migrates_from", None) or {}
    spec = specs.get(source_version)
    return {**(dict(spec.states) if spec is not None else {}), **(extra or {})}


def plan(
    engine: Engine,
    source: str = "ofsted-laassi@2",
    target: str = "ofsted-laassi@3",
    cases: list[UUID | str] | None = None,
    at: datetime | date | str | None = None,
    mapping: dict[str, str] | None = None,
) -> Plan:
    """What migrating the open cases on `source` (or just `cases`) to `target` at `at` (default now) would do; writes nothing."""
    workflow_id, source_version, compiled = _target_of(engine, source, target)
    moment = aware(at) if at is not None else engine.clock.now()
    result = Plan(source, target, compiled.content_hash, moment, mapping_of(compiled, source_version, mapping))
    if cases is None:
        chosen = [cid for cid in engine.case_ids() if _on(engine, cid, workflow_id, source_version)]
    else:
        chosen = list(dict.fromkeys(engine.case_id(c) for c in cases))
    for case_id in chosen:
        case, events = _load(engine, case_id)
        if case.definition_id == workflow_id and case.definition_version == compiled.definition.version:
            result.skipped.append((case_id, f"already on {target}"))
            continue
        if (case.definition_id, case.definition_version) != (workflow_id, source_version):
            refused = CaseMigration(case_id, case.version, case.state, None, str(case.data.get("authority")))
            refused.refusals.append(f"it runs on {case.key}, not {source}")
            result.cases.append(refused)
            continue
        pinned = engine.pinned(case.definition_id, case.definition_version, case.definition_hash)
        result.cases.append(plan_case(case, events, pinned, compiled, moment, result.mapping))
    return result


def _on(engine: Engine, case_id: UUID, workflow_id: str, version: int) -> bool:
    row = engine.summary(case_id)
    return row is not None and row.workflow == workflow_id and row.version == version


# ---------------------------------------------------------------------- apply


@dataclass
class Applied:
    """What `apply` did, case by case."""

    migrated: list[UUID] = field(default_factory=list)
    skipped: list[tuple[UUID, str]] = field(default_factory=list)
    refused: list[tuple[UUID, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "migrated": [str(c) for c in self.migrated],
            "skipped": [{"case": str(c), "why": w} for c, w in self.skipped],
            "refused": [{"case": str(c), "why": w} for c, w in self.refused],
        }

    def text(self) -> str:
        lines = [f"migrated {c}" for c in self.migrated]
        lines += [f"skipped  {c}: {w}" for c, w in self.skipped]
        lines += [f"refused  {c}: {w}" for c, w in self.refused]
        lines.append(f"{len(self.migrated)} migrated, {len(self.skipped)} skipped, {len(self.refused)} refused")
        return "\n".join(lines)


def apply(engine: Engine, planned: Plan, actor: str, reason: str) -> Applied:
    """Migrate each case the plan can move, one atomic save per case; idempotent and resumable (see the module docstring)."""
    if not actor.strip() or not reason.strip():
        raise MigrationError("a migration is recorded with who did it and why: give an actor and a reason")
    workflow_id, source_version, compiled = _target_of(engine, planned.source, planned.target)
    if compiled.content_hash != planned.target_hash:
        raise MigrationError(
            f"{planned.target} has changed since the plan was made (planned {planned.target_hash[:12]}, now {compiled.content_hash[:12]}); "
            "nothing was written: plan again"
        )
    done = Applied()
    for entry in planned.refused:
        done.refused.append((entry.case_id, "; ".join(entry.refusals)))
    done.skipped += planned.skipped
    for entry in planned.movable:
        outcome, why = engine.retrying(lambda entry=entry: _apply_one(engine, entry, planned, compiled, actor, reason))  # type: ignore[misc]
        if outcome == "migrated":
            done.migrated.append(entry.case_id)
            log.info("case.migrated", case_id=str(entry.case_id), workflow=planned.target, actor=actor)
        else:
            (done.skipped if outcome == "skipped" else done.refused).append((entry.case_id, why))
    return done


def _apply_one(engine: Engine, entry: CaseMigration, planned: Plan, target: CompiledWorkflow, actor: str, reason: str) -> tuple[str, str]:
    try:
        case, events = _load(engine, entry.case_id)
    except UnknownCase:  # a plan made on another store
        return "refused", f"this store has no case {entry.case_id}"
    if case.definition_id == target.definition.id and case.definition_hash == target.content_hash:
        return "skipped", f"already on {planned.target}"
    if case.version != entry.version:
        return "refused", f"the case changed since the plan ({entry.version} events then, {case.version} now): plan again"
    source = engine.pinned(case.definition_id, case.definition_version, case.definition_hash)
    fresh = plan_case(case, events, source, target, planned.at, planned.mapping, actor=actor, reason=reason)
    if not fresh.ok:
        return "refused", "; ".join(fresh.refusals)
    record_migration(case, fresh)
    save_or_conflict(engine.save, case, says="another writer changed the case first")
    return "migrated", ""


def plan_from_dict(engine: Engine, document: Any) -> Plan:
    """A plan read back from its JSON (`Plan.to_dict`), checked; what is applied is worked out again per case at apply time."""
    if not isinstance(document, dict) or document.get("format") != PLAN_FORMAT:
        raise MigrationError(f"not a migration plan (expected a JSON document with format {PLAN_FORMAT!r}, written by migrate plan --out)")
    try:
        result = Plan(
            str(document["from"]), str(document["to"]), str(document["to_hash"]), aware(str(document["at"])), dict(document.get("state_mapping") or {})
        )
        for item in document["cases"]:
            state = item["state"]
            result.cases.append(CaseMigration(UUID(item["case"]), int(item["events"]), str(state["from"]), str(state["to"]), item.get("authority")))
        for item in document.get("cannot_migrate") or []:
            result.cases.append(CaseMigration(UUID(item["case"]), 0, str(item.get("state")), None, item.get("authority"), refusals=list(item["why"])))
        result.skipped = [(UUID(item["case"]), str(item["why"])) for item in document.get("skipped") or []]
    except (KeyError, TypeError, ValueError) as error:
        raise MigrationError(f"the migration plan is incomplete or damaged ({type(error).__name__}: {error}); make it again with migrate plan --out") from None
    return result


# --------------------------------------------------------------------- offers


def offers(engine: Engine, on: date | str | None = None) -> list[Plan]:
    """For each version that names `applies_to_running_from` on or before `on` (default today): the plan for the open cases
    of earlier versions. Offered, never applied: the back office reads it and decides."""
    day = uk_date(aware(on)) if on is not None else engine.today()
    found = []
    for workflow in engine.catalog:
        since = getattr(workflow.definition, "applies_to_running_from", None)
        if since is None or since > day:
            continue
        for version in range(1, workflow.definition.version):
            source = f"{workflow.definition.id}@{version}"
            if any(_on(engine, cid, workflow.definition.id, version) for cid in engine.case_ids()):
                offered = plan(engine, source, workflow.key, at=max(aware(since), engine.clock.now()) if on is None else aware(day))
                if offered.movable:
                    found.append(offered)
    return found


def offer_notifications(engine: Engine, on: date | str | None = None) -> int:
    """Put one `migration_offered` notification per case an offer concerns into the outbox (`laworkflow.service.notify` delivers
    them); one already there for the same case and target content is left as it is. Returns how many cases the offers name.

    The service's scheduler calls it once a UK day, so on the day a version's `applies_to_running_from` comes the back office
    is told, case by case, with the command that shows the plan; nothing is migrated until someone applies it.
    """
    found = []
    for offered in offers(engine, on):
        since = getattr(engine.catalog.get(offered.target).definition, "applies_to_running_from", None)
        for case in offered.movable:
            moves = sum(1 for change in case.changes if change.action != "kept")
            found.append(
                jsonable(
                    {
                        "id": f"migration_offered:{case.case_id}:{offered.target}:{offered.target_hash[:12]}",
                        "kind": "migration_offered",
                        "case_id": case.case_id,
                        "workflow": offered.source,
                        "name": offered.target,
                        "applies_from": since,
                        "detail": f"state {case.source_state} -> {case.target_state}; {moves} timer(s) or deadline(s) would change",
                        "command": f"laworkflow migrate plan --from {offered.source} --to {offered.target} --case {case.case_id}",
                    }
                )
            )
    if found:
        engine.due_store.enqueue(found)
        log.info("migration.offered", cases=len(found))
    return len(found)


__all__ = [
    "Applied",
    "MigrationError",
    "PLAN_FORMAT",
    "Plan",
    "apply",
    "mapping_of",
    "offer_notifications",
    "offers",
    "parse_key",
    "plan",
    "plan_from_dict",
]
