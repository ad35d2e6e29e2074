"""The shapes of requests and responses: pydantic models, and so the OpenAPI document."""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from laworkflow.calendar.clock import aware
from laworkflow.cases.views import DueKind
from laworkflow.definitions.model import Definition
from laworkflow.keys import NAME_PATTERN

Moment = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
Day = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]


def _moment(value: str | None) -> datetime | None:
    """Read a moment as the CLI does (ISO date or time; a date is its UK midnight), within `laworkflow.calendar.bounds`."""
    # BadTime and OutOfRange are ValueErrors: a validation error, 422
    return aware(value) if value is not None else None


MOMENT_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?$"

MomentIn = Annotated[
    str,
    Field(
        max_length=64,
        pattern=MOMENT_PATTERN,
        description="ISO 8601 date or time (a date means 00:00 UK time; a time without offset is UK local time).",
        examples=["2013-06-14T09:00:00+01:00", "2013-06-14"],
    ),
    AfterValidator(_moment),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    code: str = Field(description="Stable, machine-readable: unknown_case, trigger_not_allowed, invalid_data, …")
    message: str = Field(description="What was wrong, the offending value and what would be valid.")
    details: list[dict[str, Any]] | None = Field(default=None, description="For invalid_request: each problem with its location.")


class ErrorResponse(BaseModel):
    error: ErrorBody


class DefinitionSummary(BaseModel):
    id: str
    version: int
    title: str
    inspectorate: str
    calendar: str
    content_hash: str
    states: int
    transitions: int


class DefinitionList(BaseModel):
    definitions: list[DefinitionSummary]


class DefinitionDetail(BaseModel):
    content_hash: str
    definition: Definition


class TimerOut(BaseModel):
    trigger: str
    state: str
    due_at: Moment


class DeadlineOut(BaseModel):
    due_date: Day
    met_by: str
    status: Literal["pending", "missed", "met", "met_early", "met_late", "withdrawn", "withdrawn_after_missing"]
    met_on: Day | None = None
    late_by_working_days: int | None = None
    earliest_date: Day | None = None
    target_date: Day | None = None


class ChildOut(BaseModel):
    id: UUID
    workflow: str
    trigger: str


class FindingOut(BaseModel):
    """A warning recorded where a "normally"/"usually" rule of the documents was not kept."""

    id: str
    trigger: str
    message: str
    cites: str
    details: str
    effective_at: Moment


class WithdrawnOut(BaseModel):
    """Who withdrew a case, when, why, and under which bulk operation."""

    by: str
    at: Moment
    reason: str
    operation_id: str | None


class CaseOut(BaseModel):
    """A case now, or as it stood at `as_of`; the shape of the CLI's `show --json`."""

    id: UUID
    workflow: str
    version: int
    definition_hash: str
    state: str
    ended: bool
    data: dict[str, Any]
    parameters: dict[str, Any]
    timers: dict[str, TimerOut]
    deadlines: dict[str, DeadlineOut]
    parent: UUID | None
    children: list[ChildOut]
    events: int
    last_effective_at: Moment | None
    as_of: Moment | None
    known_on: Day | None = None
    findings: list[FindingOut] = []
    withdrawn: WithdrawnOut | None = Field(default=None, description="Once the case was withdrawn (laworkflow bulk withdraw): it has ended.")
    responsible: str | None = Field(default=None, description="Who answers for its pending work, once a reassignment named someone.")


class StartCase(Strict):
    workflow: str = Field(min_length=1, max_length=80, examples=["ofsted-laassi"])
    version: int | None = Field(default=None, ge=1, description="Definition version; default the latest.")
    data: dict[str, Any] = Field(default_factory=dict, examples=[{"authority": "Norfolk", "concerns": ["attainment_below_national"]}])
    parameters: dict[str, str | int | float | bool] = Field(default_factory=dict, description="Overrides of the definition's parameters.")
    at: MomentIn | None = Field(default=None, description="When it takes effect; default now.")


class FireTrigger(Strict):
    trigger: str = Field(min_length=1, max_length=80, examples=["record_evidence"])
    data: dict[str, Any] = Field(default_factory=dict)
    at: MomentIn | None = Field(default=None, description="When it takes effect; default now. Not before the case's last event.")


class HistoryEvent(BaseModel):
    version: int
    type: str
    effective_at: Moment
    recorded_at: Moment
    actor: str
    details: dict[str, Any]
    prev_hash: str
    digest: str
    unexpected_fields: list[str] = Field(default=[], description="Fields the stored event has but its type does not: tampering (never shown in details).")


class HistoryOut(BaseModel):
    case_id: UUID
    events: list[HistoryEvent]


GuardStatusOut = Literal["passes", "fails", "depends_on_data"]


class FieldOut(BaseModel):
    """A field a trigger takes, every attribute spelled out."""

    type: str
    required: bool
    description: str
    choices: list[str] | None = Field(description="The values allowed (an enum's, or each item of a list's); null: any.")
    min_items: int | None = Field(description="For a list: at least this many items.")
    max_items: int | None = Field(description="For a list: at most this many items.")
    unique_items: bool = Field(description="For a list: each item at most once.")
    non_empty: bool = Field(description="For a string standing for a justification: refused when empty or only whitespace.")


class GuardCheckOut(BaseModel):
    guard: str
    status: GuardStatusOut = Field(
        description="passes or fails on the case's data and the day asked about; depends_on_data when it reads a field the trigger itself is given."
    )
    explanation: str = Field(description="What it was checked against; when it fails, the words a refusal gives.")
    reads: list[str] = Field(description="The fields it looks at, a derived field's inputs included.")
    cites: str | None
    passes_from: Day | None = Field(description="For a guard that fails only because its day has not come: the first day it holds.")


class AllowedTriggerOut(BaseModel):
    trigger: str
    to: str
    data: dict[str, dict[str, Any]] = Field(description="Each field the trigger takes, with the attributes its definition sets.")
    guards: list[str]
    cites: str
    weight: float
    description: str
    fields: dict[str, FieldOut]
    checks: list[GuardCheckOut]
    status: GuardStatusOut = Field(description="fails if any guard fails; else depends_on_data if any does; else passes.")
    refusal: str | None = Field(description="What firing it on that day would be refused with, whatever the data; null unless a guard fails.")
    on: Day = Field(description="The UK day its guards were checked on.")


class AllowedOut(BaseModel):
    case_id: UUID
    state: str
    on: Day = Field(description="The UK day the guards were checked on: `at`'s, or today's.")
    triggers: list[AllowedTriggerOut]


class DueItemOut(BaseModel):
    due_at: Moment
    kind: DueKind
    case_id: UUID
    name: str
    workflow: str
    detail: str


class DueOut(BaseModel):
    before: Moment | None
    items: list[DueItemOut]


class UpcomingOut(BaseModel):
    weeks: int
    items: list[DueItemOut]


class RegisterCase(BaseModel):
    id: UUID
    workflow: str
    state: str


class RegisterEntryOut(BaseModel):
    authority: str
    nation: str
    status: str
    since: Moment
    cases: list[RegisterCase]
    next_due: DueItemOut | None
    findings: int = 0
    latest_finding: dict[str, Any] | None = None


class RegisterOut(BaseModel):
    nation: str | None
    status: str | None
    entries: list[RegisterEntryOut]


class CaseCheckOut(BaseModel):
    case_id: UUID
    events: int
    ok: bool
    head_hash: str
    problems: list[str]


class SnapshotCheckOut(BaseModel):
    originator_id: UUID
    version: int
    topic: str
    ok: bool
    problems: list[str]


class IndexRowOut(BaseModel):
    case_id: UUID
    kind: str
    name: str
    stored: DueItemOut | None
    rebuilt: DueItemOut | None


class IndexCheckOut(BaseModel):
    ok: bool
    position: int
    rows: int
    missing: list[IndexRowOut]
    extra: list[IndexRowOut]
    changed: list[IndexRowOut]
    problems: list[str]


class VerifyOut(BaseModel):
    ok: bool = Field(
        description="False when anything read back is not as written (a digest, a link, a stray field, a snapshot, the index): the record was altered."
    )
    cases: list[CaseCheckOut]
    log: list[str] = Field(default=[], description="Events outside any case (key ring, authorities) that are not as their type writes them.")
    snapshots: list[SnapshotCheckOut] = Field(default=[], description="Stored snapshots that disagree with the events (never read by the engine).")
    index: IndexCheckOut | None = Field(default=None, description="With ?index=true: the timer index compared with one rebuilt from the log.")


class HealthOut(BaseModel):
    status: Literal["ok", "ready"]


Role = Literal["admin", "inspector", "auditor", "calendar"]


class IssueKey(Strict):
    name: str = Field(pattern=NAME_PATTERN, description="Recorded as the actor of every write made with the key.", examples=["backoffice"])
    role: Role


class IssuedKey(BaseModel):
    name: str
    role: Role
    key: str = Field(description="Shown this once; only its digest is stored.")


class KeyInfo(BaseModel):
    name: str
    role: Role
    issued_at: Moment
    revoked: bool


class KeyList(BaseModel):
    keys: list[KeyInfo]


# ---------------------------------------------------------------- reading bodies
