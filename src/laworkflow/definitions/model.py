"""The shape of a workflow definition, as pydantic models.

A definition is data, never code: states, transitions, the data each trigger
requires, guards written as declarative conditions (or names of functions
registered in Python), timers and deadlines. Every element cites the source
document and paragraph it comes from. These models check the shape of each
element; `laworkflow.validation` checks how the elements fit together.
The JSON Schema editors use (`workflows/schema.json`) is exported from here.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, model_validator

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=80)]
START = "start"  # in a deadline's `set_by`: set when the case starts, not by a trigger
# Where YAML authors may write one name or a list of them.
Names = Annotated[list[Name], BeforeValidator(lambda value: [value] if isinstance(value, str) else value)]
DefinitionId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$", max_length=80)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Citation(Strict):
    """Where a rule comes from: a declared source and its paragraph or section."""

    source: Name
    para: str = Field(min_length=1, description="Paragraph number(s) or section heading, e.g. '42' or '13-15'.")
    choice: str | None = Field(default=None, description="Where the source is ambiguous, the reading chosen and why.")


class Source(Strict):
    file: str = Field(min_length=1, description="File name of the source document.")
    title: str = Field(min_length=1)


class Parameter(Strict):
    """A value a user may want to change ("notice of up to five days"), with its default."""

    value: str | int | float | bool
    description: str = ""
    cites: Citation


FieldType = Literal["string", "integer", "number", "boolean", "date", "datetime", "enum", "list"]


class DataField(Strict):
    """One item of data a trigger (or the start of a case) requires."""

    type: FieldType
    description: str = ""
    required: bool = True
    choices: list[str] | None = Field(default=None, description="Allowed values for 'enum', or for the items of a 'list'.")
    min_items: int | None = Field(default=None, ge=0)
    # Fields added after definitions were first pinned are left out of the canonical JSON while unset (`exclude_if`),
    # so a definition that does not use them keeps the content hash its running cases pinned.
    non_empty: bool = Field(
        default=False,
        exclude_if=lambda value: value is False,
        description="For a string that stands for a justification (a reason, an override): refused when empty or only whitespace.",
    )
    derived: Derived | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="Computed by the engine from other fields (never set by a caller): a start-data field only.",
    )
    max_items: int | None = Field(
        default=None,
        ge=0,
        exclude_if=lambda value: value is None,
        description="For a list: at most this many items (a bound start data can carry, where guards cannot look).",
    )
    unique_items: bool = Field(
        default=False,
        exclude_if=lambda value: value is False,
        description="For a list: each item at most once (the three key judgement areas, each listed once).",
    )


Op = Literal[
    "eq",
    "ne",
    "in",
    "not_in",
    "contains",
    "not_contains",
    "gt",
    "ge",
    "lt",
    "le",
    "present",
    "min_items",
    "max_items",
    "within",
    "working_day",
    "before",
    "on_or_after",
    "passed",
]
# Ops on a day: without a `field` they look at the day the trigger takes effect.
DAY_OPS = ("working_day", "before", "on_or_after")


class Condition(Strict):
    """A declarative guard on case data: `field op value`.

    `within` takes a duration: the date field must fall between the day the
    trigger takes effect and that many days later (inclusive). A value written
    `$name` is read from the definition's parameters; `=field` compares with
    another field of the case (and with `min_items`/`max_items`, its length).
    `working_day` holds when the date is a working day of the case's calendar
    (value `false`: when it is not); `before` and `on_or_after` compare the
    date with a date. These three, written without a `field`, look at the day
    the trigger takes effect: a rule decided by the date it applies.
    `passed` takes a due rule counted from its date field ("5 working days",
    "3 weeks before <the field>"): it holds from the day that rule gives, so
    "at least five working days since the draft went" is a guard.
    """

    field: Name | None = None
    op: Op
    value: Any = None
    cites: Citation | None = None

    @model_validator(mode="after")
    def _field_needed(self) -> Condition:
        if self.field is None and self.op not in DAY_OPS:
            raise ValueError(f"op {self.op!r} needs a 'field' (only {', '.join(DAY_OPS)} may omit it, to look at the day the trigger takes effect)")
        return self


class Derived(Strict):
    """How the engine computes a derived field from other fields of the case: exactly one of `count`, `all`, `any`.

    Declarative, like guards, never code: `count` is the number of items of a
    list field (0 while it is absent; the field is an integer), `all` is true
    when every condition holds and `any` when at least one does (the field is a
    boolean). The conditions are guards' conditions (`contains`, `min_items`,
    `eq`, `$parameter`, `=field`, ...) and may read any field but a derived one.
    The engine records the value in `Started` and, whenever it changes, in the
    `Transitioned` data, like any other value; a caller who sends it is refused.
    """

    count: Name | None = Field(default=None, description="A list field whose number of items is the value (an integer field).")
    all: list[Condition] | None = Field(default=None, min_length=1, description="True when every condition holds (a boolean field).")
    any: list[Condition] | None = Field(default=None, min_length=1, description="True when at least one condition holds (a boolean field).")
    cites: Citation | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Derived:
        given = [name for name in ("count", "all", "any") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"a derived value is exactly one of count, all, any; got {', '.join(given) or 'none'}")
        return self


class NamedGuard(Strict):
    """A guard implemented in Python and registered under a name (`laworkflow.guards.register`)."""

    function: Name
    cites: Citation | None = None


def _guard_kind(value: Any) -> str:
    named = isinstance(value, NamedGuard) or (isinstance(value, dict) and "function" in value)
    return "named" if named else "condition"


# A guard naming a `function` is a NamedGuard, anything else a Condition: one clear error, not both models' errors.
Guard = Annotated[
    Annotated[Condition, Tag("condition")] | Annotated[NamedGuard, Tag("named")],
    Discriminator(_guard_kind),
]


class Transition(Strict):
    trigger: Name
    source: Names = Field(alias="from", min_length=1)
    to: Name | None = Field(default=None, description="Target state; omitted, the case stays in the state it is in.")
    description: str = ""
    data: dict[Name, DataField] = Field(default_factory=dict)
    guards: list[Guard] = Field(default_factory=list)
    starts: ChildSpec | None = None
    increments: list[Name] = Field(default_factory=list, description="Integer fields this transition adds one to (a missing field counts as 0).")
    internal: bool = Field(
        default=False,
        exclude_if=lambda value: value is False,
        description=(
            "Taken only by the engine: a reaction to a child case, or a timer. A person's command (CLI fire, HTTP POST "
            "/v1/cases/{id}/fire, Engine.fire) is refused with internal_trigger, naming what fires it; `allowed` does not offer it. "
            "Every trigger a reaction fires must be internal."
        ),
    )
    weight: float = Field(
        default=1.0,
        gt=0,
        description="How often a simulation takes this transition, relative to the others from the same state; no effect on real cases.",
    )
    cites: Citation

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def target(self, source: str) -> str:
        return self.to if self.to is not None else source


class ChildSpec(Strict):
    """A transition that starts a new case of another (or the same) workflow, linked to this one."""

    workflow: DefinitionId
    data: dict[Name, Any] = Field(
        default_factory=dict,
        description="Child start data: a string '=field' copies this case's field, anything else is a literal.",
    )


class State(Strict):
    description: str = ""
    terminal: bool = False
    status: str | None = Field(
        default=None,
        description="How the authority register lists an authority whose case is in this state, e.g. 'in follow-up'.",
    )
    cites: Citation


class Timer(Strict):
    """Fires a trigger when it falls due; armed on entering `state`, cancelled on leaving it."""

    id: Name
    state: Name
    fires: Name
    due: str = Field(description="A due rule: '5 working days', '4 weeks before field', 'on field', or '$parameter'.")
    description: str = ""
    cites: Citation


class Deadline(Strict):
    """A statutory target: set by a trigger, met by another; missed is recorded, never blocking.

    With `earliest` (and optionally `target`) it is a window — "about three
    months after" — and meeting it is reported as early, on time or late.
    """

    id: Name
    set_by: Names = Field(min_length=1, description="Triggers that set it; `start` sets it when a case starts.")
    met_by: Names = Field(min_length=1, description="Triggers that meet it, any one of them.")
    due: str = Field(description="The latest date: a due rule, counted from the moment the setting trigger takes effect unless it names a field.")
    target: str | None = Field(default=None, description="The date aimed at, for a window (a due rule).")
    earliest: str | None = Field(default=None, description="Before this date meeting it is early (a due rule).")
    remind_before: str | None = Field(
        default=None,
        description="Lead time for an 'approaching' notification, counted back from the due date: '5 working days' or '$parameter'.",
    )
    description: str = ""
    cites: Citation


class Reaction(Strict):
    """How a parent case responds when a child case it started reaches a state.

    A process manager follows the event log and fires `fire` on the parent,
    copying data from the child (`'=field'`), once per child transition.
    """

    id: Name
    child: DefinitionId = Field(description="The child's workflow id.")
    reaches: Names = Field(min_length=1, description="Child states that cause the reaction.")
    fire: Name = Field(description="The parent's trigger.")
    data: dict[Name, Any] = Field(default_factory=dict, description="Trigger data: '=field' copies the child's field, anything else is a literal.")
    description: str = ""
    cites: Citation


class Finding(Strict):
    """A "normally" or "usually" of the documents: not a refusal, but a warning recorded on the case.

    When a trigger in `on` is taken (or the case starts, `start`) and every
    condition in `when` holds on the case as it then is, the same command
    records a `FindingRecorded` event with this id, message and citation.
    """

    id: Name
    on: Names = Field(min_length=1, description="Triggers after which the conditions are checked; `start` when a case starts.")
    when: Annotated[list[Condition], BeforeValidator(lambda value: [value] if isinstance(value, dict) else value)] = Field(
        min_length=1, description="Conditions that, all holding, say the irregularity happened."
    )
    message: str = Field(min_length=1)
    cites: Citation


class MigrationSpec(Strict):
    """How cases running on an earlier version move onto this one (`laworkflow migrate`)."""

    states: dict[Name, Name] = Field(default_factory=dict, description="A state of the earlier version that this one names differently: old name to new name.")


class Definition(Strict):
    """One version of one workflow. Immutable once a case has started on it."""

    id: DefinitionId
    version: int = Field(ge=1)
    title: str = Field(min_length=1)
    inspectorate: str = Field(min_length=1)
    calendar: Literal["england", "wales"]
    in_force_from: date | None = Field(
        default=None,
        description="The day this version starts to apply: a case started on or after it (naming no version) runs on it.",
    )
    in_force_until: date | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="The last day this version applies (inclusive); none: still in force. A case started on a day no version is in force is refused.",
    )
    in_force_cites: Citation | None = Field(
        default=None, exclude_if=lambda value: value is None, description="Where the window comes from, with the reading chosen."
    )
    description: str = ""
    sources: dict[Name, Source] = Field(min_length=1)
    parameters: dict[Name, Parameter] = Field(default_factory=dict)
    data: dict[Name, DataField] = Field(default_factory=dict, description="Data required to start a case.")
    initial: Name
    states: dict[Name, State] = Field(min_length=1)
    transitions: list[Transition] = Field(min_length=1)
    timers: list[Timer] = Field(default_factory=list)
    deadlines: list[Deadline] = Field(default_factory=list)
    reactions: list[Reaction] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list, exclude_if=lambda value: not value, description="Irregularities recorded as warnings, not refused.")
    reference: dict[Name, Any] = Field(
        default_factory=dict, description="Reference data the process points to (themes, reporting areas, criteria), cited in comments."
    )
    migrates_from: dict[int, MigrationSpec] = Field(
        default_factory=dict,
        exclude_if=lambda value: not value,
        description="For each earlier version (by number), how its running cases' states map onto this version's; a state not named keeps its name.",
    )
    applies_to_running_from: date | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="The day from which this version applies to cases already running on an earlier one: the engine then offers their migration.",
    )

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    def content_hash(self) -> str:
        """SHA-256 of the definition's canonical JSON: what a case pins when it starts."""
        return _sha256(self.model_dump(mode="json", by_alias=True))

    def behaviour_hash(self) -> str:
        """SHA-256 of the canonical JSON without the words: what decides how a case behaves.

        A case pins the whole content (`content_hash`), but a command on it
        goes on when the catalog's file differs only in words: editing a
        description, a title or a citation's choice needs no new version.
        The words are left out by path (`WORDS`), never by key name alone, so
        a data field or a reference entry named `title` or `description` is
        still behaviour.

        | Words (left out)                                      | Behaviour (hashed)                                        |
        |-------------------------------------------------------|-----------------------------------------------------------|
        | `title`, `inspectorate`, `description`                | `id`, `version`, `calendar`, `initial`                    |
        | `sources` (files and titles)                          | `in_force_from`, `in_force_until`                         |
        | every `cites` and `in_force_cites` (source, para,     | states: `terminal`, `status` (the register's label)       |
        |   `choice`): on parameters, states, transitions,      | transitions: `trigger`, `from`, `to`, `data`, `guards`,   |
        |   guards, derived values, timers, deadlines,          |   `starts`, `increments`, `internal`                      |
        |   reactions, findings and their conditions            | data fields: `type`, `required`, `choices`, `min_items`,  |
        | descriptions of parameters, data fields, states,      |   `max_items`, `unique_items`, `non_empty`, `derived`     |
        |   transitions, timers, deadlines, reactions           | parameters: `value`                                       |
        | a finding's `message`                                 | timers, deadlines, reactions: all but description, cites  |
        | a transition's `weight` (simulation only)             | findings: `id`, `on`, `when`                              |
        | `migrates_from`, `applies_to_running_from`: how cases |  `reference` (guards read it)                             |
        |   of EARLIER versions move onto this one (a case      |                                                           |
        |   running on this version never reads them)           |                                                           |

        A finding's message is words although `FindingRecorded` carries it:
        the rule (when a finding is recorded) is the conditions; the message
        says it in the words in force when it was recorded.
        """
        return _sha256(self.model_dump(mode="json", by_alias=True, exclude=WORDS))

    def in_force_on(self, day: date) -> bool:
        """Whether `day` falls in this version's window (no bound: open on that side)."""
        return (self.in_force_from or date.min) <= day <= (self.in_force_until or date.max)

    def window(self) -> str:
        """The window as a reader says it: "2013-06-01 to 2014-04-30", "from 2014-11-01", "always"."""
        start, end = self.in_force_from, self.in_force_until
        if start and end:
            return f"{start.isoformat()} to {end.isoformat()}"
        if start or end:
            return f"from {start.isoformat()}" if start else f"until {end.isoformat()}"  # type: ignore[union-attr]
        return "always"

    def fields(self) -> dict[str, DataField]:
        """Every data field the case may hold: start data and every trigger's data."""
        found: dict[str, DataField] = dict(self.data)
        for transition in self.transitions:
            for name, spec in transition.data.items():
                found.setdefault(name, spec)
        return found


Transition.model_rebuild()
DataField.model_rebuild()


def _sha256(dumped: dict[str, Any]) -> str:
    """The content hash's recipe: sorted keys, no spaces, ASCII escapes."""
    return hashlib.sha256(json.dumps(dumped, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# The words of a definition, as a pydantic `exclude` by path: what `Definition.behaviour_hash` leaves out.
_CITED = {"cites": True}
_EACH_CITED = {"__all__": _CITED}
_DATA_FIELDS = {"__all__": {"description": True, "derived": {"cites": True, "all": _EACH_CITED, "any": _EACH_CITED}}}
_DESCRIBED = {"__all__": {"description": True, "cites": True}}
WORDS: dict[str, Any] = {
    "title": True,
    "inspectorate": True,
    "description": True,
    "in_force_cites": True,
    "sources": True,
    "parameters": _DESCRIBED,
    "data": _DATA_FIELDS,
    "states": _DESCRIBED,
    "transitions": {"__all__": {"description": True, "weight": True, "cites": True, "data": _DATA_FIELDS, "guards": _EACH_CITED}},
    "timers": _DESCRIBED,
    "deadlines": _DESCRIBED,
    "reactions": _DESCRIBED,
    "findings": {"__all__": {"message": True, "cites": True, "when": _EACH_CITED}},
    # How cases of earlier versions are moved here: nothing a case already on this version reads, so naming the
    # day a revision reaches running cases (or a state mapping) keeps this version's running cases going.
    "migrates_from": True,
    "applies_to_running_from": True,
}


def json_schema() -> dict[str, Any]:
    """JSON Schema of a definition file, for editors."""
    schema = Definition.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "laworkflow workflow definition"
    return schema
