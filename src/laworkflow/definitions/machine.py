"""Compile a Definition once into a `transitions` machine that validates triggers.

One machine per definition, shared by every case on it: no machine is ever
attached to a case, so cases stay plain event-sourced aggregates that snapshot
cleanly. A case asks the compiled workflow whether a trigger is allowed from
its state and whether the guards pass; the case then records the event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model
from transitions import Machine
from transitions.core import Condition as MachineCondition
from transitions.core import EventData
from transitions.core import Transition as MachineTransition

from laworkflow.calendar.bounds import Day, Moment, check_day
from laworkflow.calendar.durations import DueRule, Duration, parse_due, parse_duration
from laworkflow.calendar.working_days import WorkingCalendar, calendar_for
from laworkflow.definitions.derived import derived_fields, refuse_derived, with_derived
from laworkflow.definitions.guards import GuardContext, GuardRegistry, check_condition, default_guards, describe
from laworkflow.definitions.model import Condition, DataField, Deadline, Definition, NamedGuard, Reaction, Timer, Transition
from laworkflow.errors import DurationError, GuardFailed, InvalidData, OutOfRange, TriggerNotAllowed

_SCALARS: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "date": Day,  # a typed-in date becomes deadlines and timers: only days inside `laworkflow.calendar.bounds`
    "datetime": Moment,
}


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or only whitespace: it stands for a justification")
    return value


def _no_repeats(items: list[Any]) -> list[Any]:
    repeated = sorted({str(item) for item in items if items.count(item) > 1})
    if repeated:
        raise ValueError(f"each item may be given once; repeated: {', '.join(repeated)}")
    return items


def _python_type(spec: DataField) -> Any:
    if spec.non_empty and spec.type == "string":
        return Annotated[str, AfterValidator(_not_blank)]
    if spec.type == "enum":
        return Literal[tuple(spec.choices or ())]
    if spec.type == "list":
        item = Literal[tuple(spec.choices)] if spec.choices else str
        return Annotated[list[item], AfterValidator(_no_repeats)] if spec.unique_items else list[item]  # type: ignore[valid-type]
    return _SCALARS[spec.type]


def payload_model(name: str, fields: dict[str, DataField]) -> type[BaseModel]:
    """A pydantic model for the data a trigger requires: unknown keys are rejected."""
    definitions: dict[str, Any] = {}
    for key, spec in fields.items():
        default = ... if spec.required else None
        annotation = _python_type(spec) if spec.required else _python_type(spec) | None
        definitions[key] = (
            annotation,
            Field(default, description=spec.description, min_length=spec.min_items, max_length=spec.max_items),
        )  # None: no constraint
    return create_model(name, __config__=ConfigDict(extra="forbid", strict=False), **definitions)


def validate_payload(model: type[BaseModel], data: dict[str, Any] | None, what: str) -> dict[str, Any]:
    """Check data against a trigger's model; return it JSON-ready (dates as ISO text)."""
    try:
        return model.model_validate(data or {}).model_dump(mode="json", exclude_none=True)
    except ValidationError as error:
        details = "; ".join(f"{'.'.join(str(p) for p in item['loc']) or 'data'}: {_message(item)}" for item in error.errors())
        raise InvalidData(f"invalid data for {what}: {details}") from None


def _message(item: Any) -> str:
    """pydantic's message, without its "Value error, " prefix when the message is our own (e.g. a date out of range)."""
    raised = (item.get("ctx") or {}).get("error")
    return str(raised) if item.get("type") == "value_error" and raised is not None else item["msg"]


def is_iso_day(value: Any) -> bool:
    """A parameter written as a day, YYYY-MM-DD (not a due rule, though it starts with a digit)."""
    return isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-" and value.replace("-", "").isdigit()


def _parameter_text(text: str, parameters: dict[str, Any]) -> str:
    """A rule written directly, or `$name` for the case's value of a parameter."""
    return str(parameters[text[1:]]) if text.startswith("$") else text


def _parameter_value(name: str, default: Any, value: Any) -> Any:
    """An override takes the kind of its default: a due rule stays a due rule, a number a number."""
    try:
        if isinstance(default, bool):
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            if isinstance(value, bool):
                return value
            raise ValueError("expected true or false")
        if isinstance(default, (int, float)):
            return type(default)(value)
        if is_iso_day(default):  # a date parameter ("2014-11-01"): a date inside the range, kept as ISO text
            return check_day(date.fromisoformat(str(value)), "the date").isoformat()
        if isinstance(default, str) and default[:1].isdigit() or str(default).startswith("on "):
            return str(parse_due(str(value)))
        if isinstance(default, date):  # a date parameter: inside the range
            day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
            check_day(day, "the date")
        return value
    except (ValueError, TypeError, DurationError, OutOfRange) as error:
        raise InvalidData(f"parameter {name!r} cannot be {value!r} (default {default!r}): {error}") from None


class GuardCheck:
    """A transitions condition that evaluates one guard against the command's GuardContext."""

    def __init__(self, guard: Condition | NamedGuard, registry: GuardRegistry):
        self.guard = guard
        self.registry = registry

    def explain(self, context: GuardContext) -> str:
        if isinstance(self.guard, Condition):
            return describe(self.guard, context)
        return f"{self.guard.function}()"

    def holds(self, context: GuardContext) -> bool:
        if isinstance(self.guard, Condition):
            return check_condition(self.guard, context)
        return bool(self.registry[self.guard.function](context))

    def __call__(self, event: EventData) -> bool:
        return self.holds(event.kwargs["context"])


def _guard_check(condition: MachineCondition) -> GuardCheck:
    """The guard behind a condition of a compiled machine: compile_definition adds no other kind."""
    if not isinstance(condition.func, GuardCheck):
        raise TypeError(f"not a guard of a compiled definition: {condition.func!r}")
    return condition.func


@dataclass(frozen=True)
class CompiledWorkflow:
    """A definition with its machine, payload models and due rules, built once."""

    definition: Definition
    content_hash: str
    calendar: WorkingCalendar
    machine: Machine
    start_model: type[BaseModel]
    payload_models: dict[int, type[BaseModel]]
    definition_index: dict[MachineTransition, int]  # each of the machine's transitions → its index in definition.transitions
    timers_by_state: dict[str, list[Timer]] = field(default_factory=dict)
    deadlines_set_by: dict[str, list[Deadline]] = field(default_factory=dict)
    deadlines_met_by: dict[str, list[Deadline]] = field(default_factory=dict)
    reactions_to: dict[str, list[Reaction]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.definition.key

    def summary(self) -> dict[str, Any]:
        """One line of `definitions list`, on the CLI and over HTTP alike."""
        d = self.definition
        return {
            "id": d.id,
            "version": d.version,
            "title": d.title,
            "inspectorate": d.inspectorate,
            "calendar": d.calendar,
            "content_hash": self.content_hash,
            "states": len(d.states),
            "transitions": len(d.transitions),
        }

    def is_terminal(self, state: str) -> bool:
        return self.definition.states[state].terminal

    def triggers_from(self, state: str) -> list[str]:
        return sorted(self.machine.get_triggers(state))

    def commands_from(self, state: str) -> list[str]:
        """The triggers a person may fire from a state: an internal one is the engine's alone, so a refusal never offers it."""
        return [t for t in self.triggers_from(state) if any(not x.internal for x in self.transitions_from(state, t))]

    def transitions_from(self, state: str, trigger: str) -> list[Transition]:
        return [self.definition.transitions[self.definition_index[t]] for t in self.machine.get_transitions(trigger=trigger, source=state)]

    def guarded(self, state: str, trigger: str) -> list[tuple[Transition, list[GuardCheck]]]:
        """Each transition a trigger may take from a state, with its guards as `select` checks them, in order."""
        found = self.machine.get_transitions(trigger=trigger, source=state)
        return [(self.definition.transitions[self.definition_index[t]], [_guard_check(c) for c in t.conditions]) for t in found]

    def parameters(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        values = {name: p.value for name, p in self.definition.parameters.items()}
        unknown = set(overrides or {}) - set(values)
        if unknown:
            raise InvalidData(f"unknown parameter(s) {', '.join(sorted(unknown))}; parameters: {', '.join(sorted(values)) or '(none)'}")
        for name, value in (overrides or {}).items():
            values[name] = _parameter_value(name, values[name], value)
        return values

    def duration(self, text: str, parameters: dict[str, Any]) -> Duration:
        return parse_duration(_parameter_text(text, parameters))

    def due_rule(self, text: str, parameters: dict[str, Any]) -> DueRule:
        return parse_due(_parameter_text(text, parameters))

    def start_payload(self, data: dict[str, Any] | None, day: date, parameters: dict[str, Any], what: str) -> dict[str, Any]:
        """A case's start data, checked, with its derived fields computed; InvalidData if a caller sets one."""
        refuse_derived(self.definition, data, what)
        payload = validate_payload(self.start_model, data, what)
        return with_derived(self.definition, GuardContext(payload, day, self.calendar, parameters)).data

    def select(self, state: str, trigger: str, data: dict[str, Any] | None, context_for: Any) -> tuple[Transition, dict[str, Any]]:
        """Find the transition a trigger takes from a state, with its validated data.

        `context_for(payload)` builds the GuardContext once the data is known.
        Raises TriggerNotAllowed, InvalidData or GuardFailed; changes nothing.
        """
        candidates = self.machine.get_transitions(trigger=trigger, source=state)
        refuse_derived(self.definition, data, f"trigger {trigger!r}")
        if not candidates:
            allowed = ", ".join(self.commands_from(state)) or "(none: the case has ended, or only the engine moves it on)"
            if trigger not in self.machine.events:
                raise TriggerNotAllowed(f"unknown trigger {trigger!r} in {self.key}; allowed: {allowed} (in state {state!r})")
            raise TriggerNotAllowed(f"trigger {trigger!r} is not allowed in state {state!r}; allowed: {allowed}")
        failures: list[str] = []
        invalid: InvalidData | None = None
        for candidate in candidates:
            index = self.definition_index[candidate]
            try:
                payload = validate_payload(self.payload_models[index], data, f"trigger {trigger!r}")
            except InvalidData as error:
                invalid = invalid or error
                continue
            context = context_for(payload)
            event = EventData(self.machine.get_state(state), self.machine.events[trigger], self.machine, None, (), {"context": context})
            failed = [_guard_check(c).explain(context) for c in candidate.conditions if not c.check(event)]
            if not failed:
                return self.definition.transitions[index], payload
            failures.append(" and ".join(failed))
        if invalid is not None and not failures:
            raise invalid
        raise GuardFailed(f"trigger {trigger!r} from state {state!r} refused by guard: {' | '.join(failures)}")


def compile_definition(definition: Definition, guards: GuardRegistry = default_guards) -> CompiledWorkflow:
    machine = Machine(
        model=None,
        states=list(definition.states),
        initial=definition.initial,
        auto_transitions=False,
        send_event=True,
    )
    payload_models: dict[int, type[BaseModel]] = {}
    definition_index: dict[MachineTransition, int] = {}
    for index, transition in enumerate(definition.transitions):
        conditions: list[str | Callable[..., bool | None]] = [GuardCheck(guard, guards) for guard in transition.guards]
        for source in transition.source:
            machine.add_transition(transition.trigger, source, transition.target(source), conditions=conditions)
            definition_index[machine.get_transitions(trigger=transition.trigger, source=source)[-1]] = index
        payload_models[index] = payload_model(f"{transition.trigger}_data", transition.data)
    timers: dict[str, list[Timer]] = {}
    for timer in definition.timers:
        timers.setdefault(timer.state, []).append(timer)
    set_by: dict[str, list[Deadline]] = {}
    met_by: dict[str, list[Deadline]] = {}
    for deadline in definition.deadlines:
        for trigger in deadline.set_by:
            set_by.setdefault(trigger, []).append(deadline)
        for trigger in deadline.met_by:
            met_by.setdefault(trigger, []).append(deadline)
    reactions: dict[str, list[Reaction]] = {}
    for reaction in definition.reactions:
        reactions.setdefault(reaction.child, []).append(reaction)
    return CompiledWorkflow(
        definition=definition,
        content_hash=definition.content_hash(),
        calendar=calendar_for(definition.calendar),
        machine=machine,
        start_model=payload_model("start_data", {k: v for k, v in definition.data.items() if k not in derived_fields(definition)}),
        payload_models=payload_models,
        definition_index=definition_index,
        timers_by_state=timers,
        deadlines_set_by=set_by,
        deadlines_met_by=met_by,
        reactions_to=reactions,
    )
