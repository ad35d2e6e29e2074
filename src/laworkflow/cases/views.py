"""What queries return: plain, JSON-ready views of cases, events and due work.

These shapes are what `--json` prints and what the HTTP API will serve, so
they change only deliberately; the README documents them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from laworkflow.calendar.clock import LONDON

# The kinds of item the timer index holds; the index, these views and the HTTP schema share this one type.
DueKind = Literal["timer", "deadline", "reminder"]


_PLAIN = frozenset({str, int, float, bool, type(None)})  # already JSON: returned at once (most values are)


def jsonable(value: Any) -> Any:
    """Dates and moments as ISO text (moments in UK time, with their offset), ids as text, recursively."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, datetime):
        return value.astimezone(LONDON).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, View):
        return value.to_dict()
    if isinstance(value, dict):
        return jsonable_dict(value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def jsonable_dict(value: dict[Any, Any]) -> dict[str, Any]:
    """`jsonable` of a dict, typed as the dict it stays: keys as text, values made JSON-ready."""
    return {str(k): jsonable(v) for k, v in value.items()}


class View:
    def to_dict(self) -> dict[str, Any]:
        # View itself is no dataclass, but every view is one.
        return jsonable_dict({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})  # type: ignore[arg-type]


@dataclass(frozen=True)
class CaseView(View):
    id: UUID
    workflow: str
    version: int
    definition_hash: str
    state: str
    ended: bool
    data: dict[str, Any]
    parameters: dict[str, Any]
    timers: dict[str, dict[str, Any]]
    deadlines: dict[str, dict[str, Any]]
    parent: str | None
    children: list[dict[str, str]]
    events: int
    last_effective_at: datetime | None
    as_of: datetime | None = None
    known_on: date | None = None  # the UK day by whose end the events shown had been recorded
    # Warnings recorded where a "normally"/"usually" rule was not kept: {id, trigger, message, cites, details, effective_at}.
    findings: list[dict[str, Any]] = field(default_factory=list)
    withdrawn: dict[str, Any] | None = None  # {by, at, reason, operation_id} once withdrawn (`cases.withdrawal`): it has ended
    responsible: str | None = None  # who answers for its pending work, once a reassignment named someone (`cases.withdrawal`)


@dataclass(frozen=True)
class HistoryEntry(View):
    version: int
    type: str
    effective_at: datetime
    recorded_at: datetime
    actor: str
    details: dict[str, Any]
    prev_hash: str
    digest: str
    # Fields the stored event has but its type does not (added in the database): named, never shown as details.
    unexpected_fields: list[str] = field(default_factory=list)


# What a guard says on the day asked about (`cases.readiness`): decided already, or by the data the trigger is given.
GuardStatus = Literal["passes", "fails", "depends_on_data"]


@dataclass(frozen=True)
class GuardReport(View):
    """One guard of an allowed trigger, checked against the case as it stands on `AllowedTrigger.on`."""

    guard: str  # as `guards` words it
    status: GuardStatus
    explanation: str  # the values it was checked against: a refusal's words when it fails
    reads: list[str]  # the fields it looks at (a derived field's own inputs included)
    cites: str | None = None
    passes_from: date | None = None  # for a guard that fails only because its day has not come: the first day it holds


@dataclass(frozen=True)
class AllowedTrigger(View):
    trigger: str
    to: str
    data: dict[str, Any]
    guards: list[str]
    cites: str
    weight: float = 1.0
    description: str = ""
    # Each field the trigger takes, every attribute spelled out: type, required, description, choices, bounds, non_empty.
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    checks: list[GuardReport] = field(default_factory=list)
    status: GuardStatus = "passes"  # fails if any guard fails; else depends_on_data if any does; else passes
    refusal: str | None = None  # what firing it now, with any data, would be refused with
    on: date | None = None  # the UK day the guards were checked on


@dataclass(frozen=True, order=True)
class DueItem(View):
    """A timer to fire, a deadline to watch or a reminder to send, across all cases."""

    due_at: datetime
    kind: DueKind
    case_id: UUID
    name: str
    workflow: str = field(compare=False)
    detail: str = field(compare=False)


@dataclass(frozen=True)
class QuarantinedItem(View):
    """Something the timer index set aside rather than stop for; `laworkflow quarantine release ID` tries it again.

    `source` "event": catch-up could not work out an event's effect on the index
    (`kind` is the event's type, `version` its place in the case). "item": a due
    timer, deadline or reminder whose handling failed (`kind` its DueKind).
    """

    id: str
    source: Literal["event", "item"]
    case_id: UUID | None
    kind: str
    name: str
    error: str
    quarantined_at: datetime
    position: int | None = None  # the notification's position in the log, when known
    version: int | None = None
    due_at: datetime | None = None
    workflow: str = ""
    detail: str = ""


@dataclass(frozen=True)
class CaseCheck(View):
    case_id: UUID
    events: int
    ok: bool
    head_hash: str
    problems: list[str]


@dataclass(frozen=True)
class SnapshotCheck(View):
    """A stored snapshot compared with its aggregate folded from the events up to the version it claims."""

    originator_id: UUID
    version: int
    topic: str
    ok: bool
    problems: list[str]


@dataclass(frozen=True)
class IndexRow(View):
    """One row of the timer index that differs from the index rebuilt from the log: as stored, as rebuilt."""

    case_id: UUID
    kind: str
    name: str
    stored: DueItem | None
    rebuilt: DueItem | None


@dataclass(frozen=True)
class IndexCheck(View):
    """The stored timer index compared with one rebuilt in memory from the log up to the same position."""

    ok: bool
    position: int
    rows: int
    missing: list[IndexRow]
    extra: list[IndexRow]
    changed: list[IndexRow]
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VerifyReport(View):
    ok: bool
    cases: list[CaseCheck]
    log: list[str] = field(default_factory=list)  # events of the log outside any case (key ring, authorities) that are not as written
    snapshots: list[SnapshotCheck] = field(default_factory=list)  # only those that disagree with the events
    index: IndexCheck | None = None  # with `verify --index`


@dataclass(frozen=True)
class RegisterEntry(View):
    """One authority with one status: since when, through which cases, and what comes next."""

    authority: str
    nation: str
    status: str
    since: datetime
    cases: list[dict[str, str]]
    next_due: DueItem | None
    findings: int = 0  # warnings recorded on these cases (see CaseView.findings)
    latest_finding: dict[str, Any] | None = None  # the last of them: {case_id, id, message, cites, effective_at}
