"""What a case may do now: each trigger a person may fire, the data it takes, and whether its guards would pass.

A list of trigger names does not tell a back office what to do next: it needs
the fields each trigger asks for (their type, choices and bounds) and whether
the rules would let it through on the day in question, before typing anything.
Each guard is checked as `Case.fire` checks it (the same context, derived
fields computed) on the case's data as it stands, on the day asked about:
`passes` or `fails` (with the words a refusal would use) is then settled by
the case and the day alone. A guard that reads a field the trigger itself
supplies (or a derived field counted from one) is decided only by the data
given, so it is `depends_on_data`; a named guard (Python code that may read
anything) is too, whenever the trigger takes data. Nothing is recorded.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from laworkflow.calendar.durations import parse_due
from laworkflow.cases.case import Case
from laworkflow.cases.views import AllowedTrigger, GuardReport, GuardStatus
from laworkflow.definitions import derived
from laworkflow.definitions.guards import GuardContext, describe, subject
from laworkflow.definitions.machine import CompiledWorkflow, GuardCheck
from laworkflow.definitions.model import Condition, DataField, Definition, Transition
from laworkflow.errors import DurationError, OutOfRange


def field_spec(spec: DataField) -> dict[str, Any]:
    """Every attribute a person needs to fill a field in, each spelled out (None or False where the definition says nothing)."""
    return {
        "type": spec.type,
        "required": spec.required,
        "description": spec.description,
        "choices": spec.choices,
        "min_items": spec.min_items,
        "max_items": spec.max_items,
        "unique_items": spec.unique_items,
        "non_empty": spec.non_empty,
    }


def reads(condition: Condition, definition: Definition, seen: frozenset[str] = frozenset()) -> list[str]:
    """The fields a condition looks at: its field, a field its value names (`=field`), and a derived field's inputs, in turn."""
    names = [n for n in (condition.field, _named(condition.value)) if n is not None]
    found: list[str] = []
    for name in names:
        if name in seen or name in found:
            continue
        found.append(name)
        rule = definition.data[name].derived if name in definition.data else None
        if rule is not None:
            inner = [Condition(field=rule.count, op="present")] if rule.count else [*(rule.all or []), *(rule.any or [])]
            for c in inner:
                found += [n for n in reads(c, definition, seen | {name, *found}) if n not in found]
    return found


def _named(value: Any) -> str | None:
    return value[1:] if isinstance(value, str) and value.startswith("=") else None


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value is not None else None
    except ValueError:
        return None


def passes_from(condition: Condition, context: GuardContext) -> date | None:
    """For a guard that waits for a day (`passed` from a date field, `on_or_after` on the day it takes effect): that day."""
    if condition.op == "passed":
        since = _day(subject(condition, context))
        if since is None:
            return None
        try:
            return parse_due(str(context.resolve(condition.value))).resolve(since, context.calendar)
        except (DurationError, OutOfRange):
            return None
    if condition.op == "on_or_after" and condition.field is None:
        return _day(context.resolve(condition.value))
    return None


def _report(check: GuardCheck, transition: Transition, definition: Definition, context: GuardContext) -> GuardReport:
    guard = check.guard
    cites = f"{guard.cites.source} {guard.cites.para}" if guard.cites is not None else None
    supplied = set(transition.data)
    if not isinstance(guard, Condition):
        said = f"{guard.function}()"
        if supplied:
            return GuardReport(said, "depends_on_data", f"{said} is code that may read the data given ({', '.join(transition.data)})", [], cites)
        return GuardReport(said, "passes" if check.holds(context) else "fails", said, [], cites)
    looked_at = reads(guard, definition)
    given = [name for name in looked_at if name in supplied]
    if given:
        return GuardReport(describe(guard), "depends_on_data", f"{describe(guard)}: decided by the {', '.join(given)} given", looked_at, cites)
    holds = check.holds(context)
    later = None if holds else passes_from(guard, context)
    return GuardReport(
        describe(guard), "passes" if holds else "fails", describe(guard, context), looked_at, cites, later if later and later > context.effective_date else None
    )


def _status(reports: list[GuardReport]) -> GuardStatus:
    statuses = {r.status for r in reports}
    return "fails" if "fails" in statuses else "depends_on_data" if "depends_on_data" in statuses else "passes"


def allowed_now(case: Case, workflow: CompiledWorkflow, day: date) -> list[AllowedTrigger]:
    """Each transition a person may fire from the case's state (internal ones are the engine's), its fields and its guards on `day`."""
    definition = workflow.definition
    context = derived.with_derived(definition, GuardContext(dict(case.data), day, workflow.calendar, case.parameters))
    found = []
    for trigger in workflow.triggers_from(case.state):
        for transition, checks in workflow.guarded(case.state, trigger):
            if transition.internal:
                continue
            reports = [_report(check, transition, definition, context) for check in checks]
            status = _status(reports)
            failed = " and ".join(r.explanation for r in reports if r.status == "fails")
            found.append(
                AllowedTrigger(
                    trigger=trigger,
                    to=transition.target(case.state),
                    data={k: v.model_dump(exclude_defaults=True) for k, v in transition.data.items()},
                    guards=[r.guard for r in reports],
                    cites=f"{transition.cites.source} {transition.cites.para}",
                    weight=transition.weight,
                    description=transition.description,
                    fields={k: field_spec(v) for k, v in transition.data.items()},
                    checks=reports,
                    status=status,
                    refusal=f"trigger {trigger!r} from state {case.state!r} refused by guard: {failed}" if failed else None,
                    on=day,
                )
            )
    return found


__all__ = ["allowed_now", "field_spec", "passes_from", "reads"]
