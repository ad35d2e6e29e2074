"""Guards: declarative conditions on case data, and named guards written in Python.

A definition never carries code to evaluate. It either states a condition
(`field op value`) or names a function an embedder registered here; an unknown
name is a load error listing the known ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from laworkflow.calendar.bounds import LATEST_DAY, within
from laworkflow.calendar.durations import parse_due, parse_duration
from laworkflow.calendar.working_days import WorkingCalendar
from laworkflow.definitions.model import DAY_OPS, Condition
from laworkflow.errors import OutOfRange


@dataclass(frozen=True)
class GuardContext:
    """What a guard may look at: the case data as it would be after the trigger, and when."""

    data: dict[str, Any]
    effective_date: date
    calendar: WorkingCalendar
    parameters: dict[str, Any]

    def resolve(self, value: Any) -> Any:
        """Read `$name` from the case's parameters and `=field` from its data."""
        if isinstance(value, str) and value.startswith("$"):
            return self.parameters[value[1:]]
        if isinstance(value, str) and value.startswith("="):
            return self.data.get(value[1:])
        return value


GuardFunction = Callable[[GuardContext], bool]


class GuardRegistry:
    """Named guards an embedder provides in Python, looked up by name from definitions."""

    def __init__(self) -> None:
        self._functions: dict[str, GuardFunction] = {}

    def register(self, name: str) -> Callable[[GuardFunction], GuardFunction]:
        def decorate(function: GuardFunction) -> GuardFunction:
            self._functions[name] = function
            return function

        return decorate

    def __contains__(self, name: object) -> bool:
        return name in self._functions

    def __getitem__(self, name: str) -> GuardFunction:
        return self._functions[name]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._functions))


default_guards = GuardRegistry()
register = default_guards.register


def _as_date(value: Any) -> date | None:
    """A date, or None for anything else, a date outside `laworkflow.calendar.bounds` included (it satisfies no guard)."""
    if isinstance(value, date):
        day = value
    elif isinstance(value, str):
        try:
            day = date.fromisoformat(value[:10])
        except ValueError:
            return None
    else:
        return None
    return day if within(day) else None


def _within(actual: Any, duration_text: Any, context: GuardContext) -> bool:
    day = _as_date(actual)
    if day is None:
        return False
    try:
        latest = parse_duration(str(duration_text)).after(context.effective_date, context.calendar)
    except OutOfRange:  # the window runs past the last day the engine counts: it ends there
        latest = LATEST_DAY
    return context.effective_date <= day <= latest


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}


def subject(condition: Condition, context: GuardContext) -> Any:
    """What a condition looks at: its field's value, or without a field the day the trigger takes effect."""
    return context.effective_date if condition.field is None else context.data.get(condition.field)


def _on_days(op: str, actual: Any, expected: Any, context: GuardContext) -> bool:
    """`working_day`, `before`, `on_or_after`: a day that is not a date (or is missing) satisfies none of them."""
    day = _as_date(actual)
    if day is None:
        return False
    if op == "working_day":
        return context.calendar.is_working_day(day) == (expected is not False)
    bound = _as_date(expected)
    if bound is None:
        return False
    return day < bound if op == "before" else day >= bound


def _passed(actual: Any, rule_text: Any, context: GuardContext) -> bool:
    """`passed`: the day the trigger takes effect is on or after the day the due rule gives, counted from the field's date."""
    day = _as_date(actual)
    if day is None or rule_text is None:
        return False
    try:
        reached = parse_due(str(rule_text)).resolve(day, context.calendar)
    except OutOfRange:  # past the last day the engine counts: never reached
        return False
    return context.effective_date >= reached


def check_condition(condition: Condition, context: GuardContext) -> bool:
    """True when the condition holds; a missing field never satisfies a comparison."""
    actual = subject(condition, context)
    expected = context.resolve(condition.value)
    op = condition.op
    if op in DAY_OPS:
        return _on_days(op, actual, expected, context)
    if op == "present":
        return (actual is not None) == (expected is not False)
    if op == "eq":
        return bool(actual == expected)  # bool for mypy (Any == Any is Any); the data's values already give one
    if op == "ne":
        return bool(actual != expected)
    if op == "in":
        return actual in (expected or [])
    if op == "not_in":
        return actual not in (expected or [])
    if op == "contains":
        return isinstance(actual, list) and expected in actual
    if op == "not_contains":
        return not (isinstance(actual, list) and expected in actual)
    if op in ("min_items", "max_items"):
        if not isinstance(actual, list) or expected is None:
            return False
        bound = len(expected) if isinstance(expected, list) else int(expected)
        return len(actual) >= bound if op == "min_items" else len(actual) <= bound
    if op == "within":
        return _within(actual, expected, context)
    if op == "passed":
        return _passed(actual, expected, context)
    if actual is None or expected is None:
        return False
    try:
        return _COMPARISONS[op](actual, expected)
    except TypeError:
        return False


def describe(condition: Condition, context: GuardContext | None = None) -> str:
    """A condition as a reader would say it; given a context, with the values it was checked against."""
    value = condition.value if context is None else context.resolve(condition.value)
    name = condition.field or "the day it takes effect"
    if condition.op == "present" or (condition.op == "working_day" and value is None):
        text = f"{name} {condition.op}"
    else:
        text = f"{name} {condition.op} {value!r}"
    if context is not None:
        shown = subject(condition, context)
        text += f" (is {(shown.isoformat() if isinstance(shown, date) else shown)!r}, on {context.effective_date.isoformat()})"
    return text
