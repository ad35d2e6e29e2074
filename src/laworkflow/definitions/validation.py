"""How the parts of a definition fit together, checked as a graph.

The pydantic models check each element's shape; here we check the whole:
states that exist, states that can be reached, terminal states that stay
terminal, triggers that are not ambiguous, timers that fire something the
armed state allows, guards and parameters that refer to things that exist.
Each check yields (path inside the file, message) so that every problem is
reported together with its line.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from typing import Any

from laworkflow.calendar.durations import parse_due, parse_duration
from laworkflow.definitions.guards import GuardRegistry
from laworkflow.definitions.machine import is_iso_day
from laworkflow.definitions.model import DAY_OPS, START, Condition, Definition, NamedGuard
from laworkflow.errors import DurationError

Found = Iterator[tuple[tuple[str | int, ...], str]]


def _known(names: Any) -> str:
    return ", ".join(sorted(names)) or "(none)"


def check_definition(definition: Definition, guards: GuardRegistry) -> list[tuple[tuple[str | int, ...], str]]:
    checks = (
        _citations,
        _states,
        _reachability,
        _ambiguity,
        _data_fields,
        _guards,
        _timers,
        _deadlines,
        _parameters,
        _reactions,
        _increments,
        _findings,
        _internal,
        _derived,
        _non_empty,
    )
    return [problem for check in checks for problem in check(definition, guards)]


def _citations(d: Definition, _: GuardRegistry) -> Found:
    def check(path: tuple[str | int, ...], source: str) -> Found:
        if source not in d.sources:
            yield (*path, "cites", "source"), f"unknown source {source!r}; declared: {_known(d.sources)}"

    for name, state in d.states.items():
        yield from check(("states", name), state.cites.source)
    for i, t in enumerate(d.transitions):
        yield from check(("transitions", i), t.cites.source)
    for i, timer in enumerate(d.timers):
        yield from check(("timers", i), timer.cites.source)
    for i, deadline in enumerate(d.deadlines):
        yield from check(("deadlines", i), deadline.cites.source)
    for name, parameter in d.parameters.items():
        yield from check(("parameters", name), parameter.cites.source)
    for i, reaction in enumerate(d.reactions):
        yield from check(("reactions", i), reaction.cites.source)
    for i, finding in enumerate(d.findings):
        yield from check(("findings", i), finding.cites.source)
    if d.in_force_cites is not None:
        yield from check(("in_force_cites",), d.in_force_cites.source)
    for i, t in enumerate(d.transitions):
        for j, guard in enumerate(t.guards):
            if guard.cites is not None:
                yield from check(("transitions", i, "guards", j), guard.cites.source)


def _states(d: Definition, _: GuardRegistry) -> Found:
    if d.initial not in d.states:
        yield ("initial",), f"unknown state {d.initial!r}; states: {_known(d.states)}"
    leaving: set[str] = set()
    for i, t in enumerate(d.transitions):
        for j, source in enumerate(t.source):
            if source not in d.states:
                yield ("transitions", i, "from", j), f"unknown state {source!r}; states: {_known(d.states)}"
            elif d.states[source].terminal:
                yield ("transitions", i, "from", j), f"transition {t.trigger!r} leaves terminal state {source!r}"
            if t.target(source) != source:
                leaving.add(source)
        if t.to is not None and t.to not in d.states:
            yield ("transitions", i, "to"), f"unknown state {t.to!r}; states: {_known(d.states)}"
    for name, state in d.states.items():
        if not state.terminal and name not in leaving:
            yield ("states", name), f"state {name!r} has no way out and is not marked terminal"
    if not any(state.terminal for state in d.states.values()):
        yield ("states",), "no terminal state: a case could never end"


def _reachability(d: Definition, _: GuardRegistry) -> Found:
    edges: dict[str, set[str]] = defaultdict(set)
    for t in d.transitions:
        for source in t.source:
            edges[source].add(t.target(source))
    seen, frontier = {d.initial}, [d.initial]
    while frontier:
        for nxt in edges[frontier.pop()] - seen:
            seen.add(nxt)
            frontier.append(nxt)
    for name in d.states:
        if name not in seen and d.initial in d.states:
            yield ("states", name), f"state {name!r} cannot be reached from the initial state {d.initial!r}"


def _ambiguity(d: Definition, _: GuardRegistry) -> Found:
    """The same trigger twice from one state is allowed only when every such transition is guarded."""
    by_edge: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, t in enumerate(d.transitions):
        for source in t.source:
            by_edge[(t.trigger, source)].append(i)
    for (trigger, source), indexes in by_edge.items():
        if len(indexes) > 1 and not all(d.transitions[i].guards for i in indexes):
            where = ", ".join(f"transitions[{i}]" for i in indexes)
            yield (
                ("transitions", indexes[-1]),
                (
                    f"ambiguous trigger {trigger!r} from state {source!r} ({where}): "
                    "when a trigger leaves one state more than once, every such transition needs a guard"
                ),
            )


def _data_fields(d: Definition, _: GuardRegistry) -> Found:
    def check(path: tuple[str | int, ...], spec: Any) -> Found:
        if spec.type == "enum" and not spec.choices:
            yield path, "an enum field needs 'choices'"
        if spec.type not in ("enum", "list") and spec.choices:
            yield path, f"'choices' only apply to enum and list fields, not {spec.type!r}"
        for bound in ("min_items", "max_items", "unique_items"):
            if spec.type != "list" and getattr(spec, bound) not in (None, False):
                yield path, f"'{bound}' only applies to list fields"
        if spec.min_items is not None and spec.max_items is not None and spec.max_items < spec.min_items:
            yield path, f"'max_items' ({spec.max_items}) is less than 'min_items' ({spec.min_items})"

    for name, spec in d.data.items():
        yield from check(("data", name), spec)
    for i, t in enumerate(d.transitions):
        for name, spec in t.data.items():
            yield from check(("transitions", i, "data", name), spec)
        if t.starts is not None:
            fields = d.fields()
            for key, value in t.starts.data.items():
                if isinstance(value, str) and value.startswith("=") and value[1:] not in fields:
                    yield ("transitions", i, "starts", "data", key), (f"copies unknown field {value[1:]!r}; fields: {_known(fields)}")


def _guards(d: Definition, guards: GuardRegistry) -> Found:
    fields = d.fields()
    for i, t in enumerate(d.transitions):
        for j, guard in enumerate(t.guards):
            path = ("transitions", i, "guards", j)
            if isinstance(guard, NamedGuard):
                if guard.function not in guards:
                    yield (*path, "function"), (f"unknown guard function {guard.function!r}; registered: {_known(guards)}")
                continue
            yield from _condition(d, guard, fields, path)


def _condition(d: Definition, c: Condition, fields: dict[str, Any], path: tuple[str | int, ...]) -> Found:
    if c.field is not None and c.field not in fields:
        yield (*path, "field"), f"unknown field {c.field!r}; fields: {_known(fields)}"
    elif c.field is not None and c.op in DAY_OPS and fields[c.field].type not in ("date", "datetime"):
        yield (*path, "field"), f"'{c.op}' looks at a day, but field {c.field!r} is a {fields[c.field].type}"
    value = c.value
    if isinstance(value, str) and value.startswith("$"):
        if value[1:] not in d.parameters:
            yield (*path, "value"), f"unknown parameter {value!r}; parameters: {_known(d.parameters)}"
            return
        value = d.parameters[value[1:]].value
    if c.op in ("in", "not_in") and not isinstance(value, list):
        yield (*path, "value"), f"'{c.op}' needs a list value, got {value!r}"
    if isinstance(value, str) and value.startswith("="):
        if value[1:] not in fields:
            yield (*path, "value"), f"compares with unknown field {value[1:]!r}; fields: {_known(fields)}"
        return
    if c.op in ("min_items", "max_items") and not isinstance(value, int):
        yield (*path, "value"), f"'{c.op}' needs a whole number or '=field', got {value!r}"
    if c.op == "within":
        try:
            parse_duration(str(value))
        except DurationError as error:
            yield (*path, "value"), str(error)
    if c.op == "passed":
        yield from _passed_rule(c, value, fields, path)


def _passed_rule(c: Condition, value: Any, fields: dict[str, Any], path: tuple[str | int, ...]) -> Found:
    """`passed` counts a due rule from its date field: the rule may name no other anchor."""
    if c.field is None or fields.get(c.field) is None or fields[c.field].type not in ("date", "datetime"):
        yield (*path, "field"), f"'passed' counts from a date field, got {c.field!r}"
    try:
        rule = parse_due(str(value))
    except DurationError as error:
        yield (*path, "value"), str(error)
        return
    if rule.anchor is not None and rule.anchor != c.field:
        yield (*path, "value"), f"'passed' counts from its field {c.field!r}, but the rule {value!r} counts from {rule.anchor!r}"


def _parameter_text(d: Definition, text: str, path: tuple[str | int, ...]) -> tuple[str | None, list[tuple[tuple[str | int, ...], str]]]:
    """A duration written directly or as `$parameter`: its text, or the problem of an unknown parameter."""
    if not text.startswith("$"):
        return text, []
    if text[1:] not in d.parameters:
        return None, [(path, f"unknown parameter {text!r}; parameters: {_known(d.parameters)}")]
    return str(d.parameters[text[1:]].value), []


def _due_rule(d: Definition, text: str, path: tuple[str | int, ...]) -> Found:
    rule_text, problems = _parameter_text(d, text, path)
    yield from problems
    if rule_text is None:
        return
    try:
        rule = parse_due(rule_text)
    except DurationError as error:
        yield path, str(error)
        return
    fields = d.fields()
    if rule.anchor is not None and rule.anchor not in fields:
        yield path, f"counts from unknown field {rule.anchor!r}; fields: {_known(fields)}"
    elif rule.anchor is not None and fields[rule.anchor].type not in ("date", "datetime"):
        yield path, f"counts from field {rule.anchor!r}, which is a {fields[rule.anchor].type}, not a date"


def _timers(d: Definition, _: GuardRegistry) -> Found:
    triggers_from: dict[str, set[str]] = defaultdict(set)
    for t in d.transitions:
        for source in t.source:
            triggers_from[source].add(t.trigger)
    seen: set[str] = set()
    for i, timer in enumerate(d.timers):
        if timer.id in seen:
            yield ("timers", i, "id"), f"duplicate timer id {timer.id!r}"
        seen.add(timer.id)
        if timer.state not in d.states:
            yield ("timers", i, "state"), f"unknown state {timer.state!r}; states: {_known(d.states)}"
        elif timer.fires not in triggers_from[timer.state]:
            yield (
                ("timers", i, "fires"),
                (f"timer fires {timer.fires!r}, which is not allowed in the state that arms it ({timer.state!r} allows: {_known(triggers_from[timer.state])})"),
            )
        yield from _due_rule(d, timer.due, ("timers", i, "due"))


def _deadlines(d: Definition, _: GuardRegistry) -> Found:
    triggers = {t.trigger for t in d.transitions}
    seen: set[str] = set()
    for i, deadline in enumerate(d.deadlines):
        if deadline.id in seen:
            yield ("deadlines", i, "id"), f"duplicate deadline id {deadline.id!r}"
        seen.add(deadline.id)
        for j, trigger in enumerate(deadline.set_by):
            if trigger not in triggers and trigger != START:
                yield ("deadlines", i, "set_by", j), f"unknown trigger {trigger!r}; triggers: {START}, {_known(triggers)}"
        for j, trigger in enumerate(deadline.met_by):
            if trigger not in triggers:
                yield ("deadlines", i, "met_by", j), f"unknown trigger {trigger!r}; triggers: {_known(triggers)}"
        yield from _due_rule(d, deadline.due, ("deadlines", i, "due"))
        for key in ("target", "earliest"):
            if getattr(deadline, key) is not None:
                yield from _due_rule(d, getattr(deadline, key), ("deadlines", i, key))
        if deadline.remind_before is not None:
            path = ("deadlines", i, "remind_before")
            text, problems = _parameter_text(d, deadline.remind_before, path)
            yield from problems
            try:
                if text is not None:
                    parse_duration(text)
            except DurationError as error:
                yield path, str(error)


def _reactions(d: Definition, _: GuardRegistry) -> Found:
    triggers = {t.trigger for t in d.transitions}
    for i, reaction in enumerate(d.reactions):
        if reaction.fire not in triggers:
            yield ("reactions", i, "fire"), f"unknown trigger {reaction.fire!r}; triggers: {_known(triggers)}"


def _increments(d: Definition, _: GuardRegistry) -> Found:
    fields = d.fields()
    for i, t in enumerate(d.transitions):
        for j, name in enumerate(t.increments):
            if name not in fields:
                yield ("transitions", i, "increments", j), f"counts unknown field {name!r}; declare it as an integer"
            elif fields[name].type != "integer":
                yield ("transitions", i, "increments", j), f"counts field {name!r}, which is a {fields[name].type}, not an integer"


def _parameters(d: Definition, _: GuardRegistry) -> Found:
    for name, parameter in d.parameters.items():
        if isinstance(parameter.value, str) and is_iso_day(parameter.value):
            try:
                date.fromisoformat(parameter.value)
            except ValueError as error:
                yield ("parameters", name, "value"), f"not a day: {error}"
        elif isinstance(parameter.value, str) and parameter.value[:1].isdigit():
            try:
                parse_due(parameter.value)
            except DurationError as error:
                yield ("parameters", name, "value"), str(error)


def _findings(d: Definition, _: GuardRegistry) -> Found:
    """Findings name triggers that exist and conditions on fields that exist; ids are unique; the window is a window."""
    triggers, fields, seen = {t.trigger for t in d.transitions}, d.fields(), set()
    for i, finding in enumerate(d.findings):
        if finding.id in seen:
            yield ("findings", i, "id"), f"duplicate finding id {finding.id!r}"
        seen.add(finding.id)
        for j, trigger in enumerate(finding.on):
            if trigger not in triggers and trigger != START:
                yield ("findings", i, "on", j), f"unknown trigger {trigger!r}; triggers: {START}, {_known(triggers)}"
        for j, condition in enumerate(finding.when):
            yield from _condition(d, condition, fields, ("findings", i, "when", j))
    if d.in_force_from and d.in_force_until and d.in_force_until < d.in_force_from:
        yield ("in_force_until",), f"the window ends ({d.in_force_until}) before it starts ({d.in_force_from})"


def _internal(d: Definition, _: GuardRegistry) -> Found:
    """A trigger a reaction fires is taken by the engine alone; an internal trigger is fired by a reaction or a timer."""
    fired = {r.fire for r in d.reactions} | {t.fires for t in d.timers}
    for i, reaction in enumerate(d.reactions):
        for j, t in enumerate(d.transitions):
            if t.trigger == reaction.fire and not t.internal:
                yield (
                    ("transitions", j),
                    f"transition {t.trigger!r} is fired by reaction {reaction.id!r} (reactions[{i}]) but a person could take it too: mark it `internal: true`",
                )
    for j, t in enumerate(d.transitions):
        if t.internal and t.trigger not in fired:
            yield ("transitions", j, "internal"), f"transition {t.trigger!r} is internal, but no reaction or timer fires it: nobody could ever take it"


def _derived(d: Definition, _: GuardRegistry) -> Found:
    """Derived fields: start data only, of the type their rule gives, reading known fields that are not derived; never sent."""
    derived = {name for name, spec in d.data.items() if spec.derived is not None}
    fields = d.fields()
    readable = {name: spec for name, spec in fields.items() if name not in derived}
    for name, spec in d.data.items():
        rule = spec.derived
        if rule is None:
            continue
        path: tuple[str | int, ...] = ("data", name, "derived")
        wanted = "integer" if rule.count is not None else "boolean"
        if spec.type != wanted:
            yield ("data", name, "type"), f"a field derived by {'count' if rule.count is not None else 'all/any'} is a {wanted}, not a {spec.type}"
        if rule.count is not None and rule.count not in readable:
            yield (*path, "count"), f"counts unknown or derived field {rule.count!r}; fields: {_known(readable)}"
        elif rule.count is not None and readable[rule.count].type != "list":
            yield (*path, "count"), f"counts field {rule.count!r}, which is a {readable[rule.count].type}, not a list"
        key = "all" if rule.all is not None else "any"
        for j, condition in enumerate(rule.all or rule.any or []):
            if condition.field in derived:
                yield (*path, key, j, "field"), f"reads derived field {condition.field!r}: a derived field reads only fields callers set"
            else:
                yield from _condition(d, condition, readable, (*path, key, j))
    for i, t in enumerate(d.transitions):
        for name, spec in t.data.items():
            if spec.derived is not None:
                yield ("transitions", i, "data", name, "derived"), "only start data (`data:` of the definition) may be derived"
            elif name in derived:
                yield ("transitions", i, "data", name), f"field {name!r} is derived by the engine: a trigger cannot carry it"
        for j, name in enumerate(t.increments):
            if name in derived:
                yield ("transitions", i, "increments", j), f"field {name!r} is derived by the engine: a transition cannot count it"
    for i, reaction in enumerate(d.reactions):
        for name in reaction.data:
            if name in derived:
                yield ("reactions", i, "data", name), f"field {name!r} is derived by the engine: a reaction cannot set it"


def _non_empty(d: Definition, _: GuardRegistry) -> Found:
    specs: list[tuple[tuple[str | int, ...], Any]] = [(("data", name), spec) for name, spec in d.data.items()]
    specs += [(("transitions", i, "data", name), spec) for i, t in enumerate(d.transitions) for name, spec in t.data.items()]
    for path, spec in specs:
        if spec.non_empty and spec.type != "string":
            yield (*path, "non_empty"), f"'non_empty' applies to string fields, not {spec.type!r}"
