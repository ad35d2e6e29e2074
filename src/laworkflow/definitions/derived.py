"""Derived data: fields the engine computes from other fields of a case, never a caller.

A start-data field with `derived:` (`model.Derived`: `count` of a list's
items, `all` or `any` of guards' conditions) summarises other data, so the two
cannot disagree: a caller who sends it is refused (`InvalidData` naming it,
nothing written); the engine computes it when a case starts and after every
transition, from the data as it then is, and records it in `Started` and, when
its value changes, in the `Transitioned` data, where history and replay see it
like any other value. Guards see the value the transition would give.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from laworkflow.definitions.guards import GuardContext, check_condition, describe
from laworkflow.definitions.model import DataField, Definition, Derived
from laworkflow.errors import InvalidData


def derived_fields(definition: Definition) -> dict[str, DataField]:
    """The derived fields of a definition (only start data may declare them), in declaration order."""
    return {name: spec for name, spec in definition.data.items() if spec.derived is not None}


def explain(rule: Derived) -> str:
    """A derivation as a reader would say it."""
    if rule.count is not None:
        return f"the number of items of {rule.count}"
    conditions = rule.all if rule.all is not None else rule.any
    joined = f" {'and' if rule.all is not None else 'or'} ".join(describe(c) for c in conditions or [])
    return f"true when {joined}"


def refuse_derived(definition: Definition, data: Iterable[str] | None, what: str) -> None:
    """InvalidData naming each derived field a caller sent."""
    rules = {name: spec.derived for name, spec in derived_fields(definition).items() if spec.derived is not None}
    sent = [name for name in (data or []) if name in rules]
    if sent:
        said = "; ".join(f"{name} is derived by the engine ({explain(rules[name])}), it cannot be set" for name in sent)
        raise InvalidData(f"invalid data for {what}: {said}; nothing was recorded")


def _value(rule: Derived, context: GuardContext) -> Any:
    if rule.count is not None:
        items = context.data.get(rule.count)
        return len(items) if isinstance(items, list) else 0
    if rule.all is not None:
        return all(check_condition(c, context) for c in rule.all)
    return any(check_condition(c, context) for c in rule.any or [])


def derive(definition: Definition, context: GuardContext) -> dict[str, Any]:
    """Every derived field's value on the data of `context` (its other fields)."""
    return {name: _value(spec.derived, context) for name, spec in derived_fields(definition).items() if spec.derived is not None}


def with_derived(definition: Definition, context: GuardContext) -> GuardContext:
    """The context with its derived fields computed: what guards look at."""
    values = derive(definition, context)
    if not values:
        return context
    return GuardContext({**context.data, **values}, context.effective_date, context.calendar, context.parameters)


def changed(definition: Definition, before: dict[str, Any], context: GuardContext) -> dict[str, Any]:
    """The derived values that differ from (or are missing in) `before`: what a transition records."""
    return {name: value for name, value in derive(definition, context).items() if name not in before or before[name] != value}


__all__ = ["changed", "derive", "derived_fields", "explain", "refuse_derived", "with_derived"]
