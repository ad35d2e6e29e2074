"""What a diagram of a definition says, and the Mermaid text of it.

A definition lists transitions one trigger at a time, and most states have
several triggers that keep the case where it is (record evidence, raise a
concern, lodge a complaint). Drawn one arrow per trigger, such a state wears a
bundle of loops nobody can read. So a diagram draws one arrow per (source,
target) pair, labelled with every trigger it stands for, and each trigger with a
short summary of its guards ("send_letter [if recipients has chief_executive
and 3 more]"); a timer that fires one of them is named on the arrow with its due
rule ("timer notice_ends: on on_site_start"). `edge_groups` works this out once,
for the Mermaid text here and the SVG pictures of `laworkflow.pictures`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from laworkflow.calendar.durations import DueRule, parse_due
from laworkflow.definitions.model import Condition, Definition, NamedGuard, Timer
from laworkflow.errors import DurationError

SHORT_GUARDS = 48  # characters of guard summary shown on an arrow; beyond, "and N more" (the full text is kept for tooltips)
_SYMBOLS = {"eq": "=", "ne": "≠", "gt": ">", "ge": "≥", "lt": "<", "le": "≤", "in": "in", "not_in": "not in", "contains": "has", "not_contains": "lacks"}


def _value(value: Any, definition: Definition) -> str:
    """A guard's value as a reader says it: a `$parameter` by its value, an `=field` by the field's name."""
    if isinstance(value, str) and value.startswith("$"):
        parameter = definition.parameters.get(value[1:])
        return _value(parameter.value, definition) if parameter is not None else value
    if isinstance(value, str) and value.startswith("="):
        return value[1:]
    if isinstance(value, list):
        return ", ".join(_value(item, definition) for item in value)
    if isinstance(value, (bool, type(None))):
        return json.dumps(value)
    return str(value)


def condition_text(condition: Condition | NamedGuard, definition: Definition) -> str:
    """One guard in a few words: "notice_days ≤ 5", "strengths given", "on or after on_site_start"."""
    if isinstance(condition, NamedGuard):
        return f"check {condition.function}"
    op, field = condition.op, condition.field
    value = _value(condition.value, definition)
    if op in _SYMBOLS:
        return f"{field} {_SYMBOLS[op]} {value}"
    if op == "present":
        return f"no {field}" if condition.value is False else f"{field} given"
    if op in ("min_items", "max_items"):
        return f"{field} has {'≥' if op == 'min_items' else '≤'} {value} items"
    if op == "within":
        return f"{field} within {value}"
    if op == "working_day":
        negation = "not " if condition.value is False else ""
        return f"{field} {negation}a working day" if field else f"{negation}on a working day"
    if op == "passed":
        rule = parse_due_or_none(value)
        return f"{value} since {field}" if rule is None or rule.anchor is None else f"{value} reached"
    words = "before" if op == "before" else "on or after"
    return f"{field} {words} {value}" if field else f"{words} {value}"


def parse_due_or_none(text: str) -> DueRule | None:
    """The due rule, or None for text that is not one (shown then as written)."""
    try:
        return parse_due(text)
    except DurationError:
        return None


def guards_text(guards: list[Condition | NamedGuard], definition: Definition, *, short: bool = True) -> str:
    """Every guard of one transition joined with "and"; `short`: cut to the first ones and "and N more"."""
    parts = [condition_text(guard, definition) for guard in guards]
    if not short:
        return " and ".join(parts)
    shown: list[str] = []
    for part in parts:
        if shown and len(" and ".join([*shown, part])) > SHORT_GUARDS:
            break
        shown.append(part)
    rest = len(parts) - len(shown)
    return " and ".join(shown) + (f" and {rest} more" if rest else "")


def timer_text(timer: Timer, definition: Definition) -> str:
    """When a timer fires, as a label says it: "after 20 working days", "on on_site_start", "4 weeks before visit_start"."""
    due = _value(timer.due, definition)
    rule = parse_due_or_none(due)
    if rule is None:
        return due
    return f"after {rule}" if rule.anchor is None else str(rule)


@dataclass(frozen=True)
class TriggerLabel:
    """One trigger on one arrow: its guards (one summary per alternative transition; empty when one needs none)."""

    trigger: str
    alternatives: tuple[str, ...]  # short summaries
    full: tuple[str, ...]  # the same, every guard spelled out
    internal: bool

    def text(self, *, short: bool = True) -> str:
        guards = self.alternatives if short else self.full
        if not guards or "" in guards:
            return self.trigger
        return f"{self.trigger} [if {', or if '.join(guards)}]"


@dataclass(frozen=True)
class EdgeGroup:
    """Every trigger that takes a case from `source` to `target` (the same state: a self-loop), and the timers that fire them."""

    source: str
    target: str
    triggers: tuple[TriggerLabel, ...]
    timers: tuple[tuple[str, str], ...]  # (timer id, when it fires)

    @property
    def self_loop(self) -> bool:
        return self.source == self.target

    @property
    def trigger_names(self) -> tuple[str, ...]:
        return tuple(label.trigger for label in self.triggers)

    def lines(self, *, short: bool = True) -> list[str]:
        """The label, one line per timer and per trigger."""
        return [f"timer {timer_id}: {when}" for timer_id, when in self.timers] + [label.text(short=short) for label in self.triggers]


def edge_groups(definition: Definition) -> list[EdgeGroup]:
    """One group per (source, target) pair, in the order the definition first names each pair and each trigger."""
    pairs: dict[tuple[str, str], dict[str, list[Any]]] = {}
    for transition in definition.transitions:
        for source in transition.source:
            triggers = pairs.setdefault((source, transition.target(source)), {})
            triggers.setdefault(transition.trigger, []).append(transition)
    groups = []
    for (source, target), triggers in pairs.items():
        labels = tuple(
            TriggerLabel(
                trigger,
                tuple(guards_text(list(t.guards), definition) for t in transitions),
                tuple(guards_text(list(t.guards), definition, short=False) for t in transitions),
                all(t.internal for t in transitions),
            )
            for trigger, transitions in triggers.items()
        )
        timers = tuple((timer.id, timer_text(timer, definition)) for timer in definition.timers if timer.state == source and timer.fires in triggers)
        groups.append(EdgeGroup(source, target, labels, timers))
    return groups


def _mermaid_label(lines: list[str]) -> str:
    # Mermaid reads "<" and ">" as markup and ";" or "#" as syntax: each is written as its entity code.
    escaped = [line.replace("#", "#35;").replace("<", "#60;").replace(">", "#62;").replace(";", "#59;") for line in lines]
    return "<br/>".join(escaped)


def mermaid(definition: Definition) -> str:
    """A Mermaid `stateDiagram-v2`: one arrow per (source, target) pair, every self-loop of a state as one arrow."""
    lines = ["stateDiagram-v2", f"    [*] --> {definition.initial}"]
    for group in edge_groups(definition):
        lines.append(f"    {group.source} --> {group.target}: {_mermaid_label(group.lines())}")
    for name, state in definition.states.items():
        if state.terminal:
            lines.append(f"    {name} --> [*]")
    return "\n".join(lines) + "\n"


__all__ = ["EdgeGroup", "TriggerLabel", "condition_text", "edge_groups", "guards_text", "mermaid", "timer_text"]
