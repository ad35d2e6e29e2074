"""Finding cases in the case index: filters, a sort order, and pages that follow on from an opaque cursor.

A search is checked whole before anything is listed: a filter on a data field
no workflow has and no case holds, a date that cannot be read, a sort key not
offered, or a cursor that this search did not give is refused (InvalidData), so
a typo is never an empty list. The cursor carries the sort key of the last case
shown and a digest of the search it belongs to: the next page starts after that
case, whatever was started or moved meanwhile, and a cursor taken to another
search is refused rather than silently skipping cases.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from laworkflow.calendar.clock import aware, day_over_at
from laworkflow.calendar.working_days import calendar_for
from laworkflow.definitions.machine import CompiledWorkflow
from laworkflow.errors import InvalidData
from laworkflow.projections.case_index import CaseIndex, CaseSummary

SORTS = ("started", "moved", "authority", "workflow", "state", "status", "id")
DEFAULT_SORT = "-moved"  # the cases that moved last first: what the back office looks at
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


@dataclass(frozen=True)
class CaseQuery:
    """A search for cases; every filter left None (or empty) matches every case.

    `where` holds `field=value` texts, all of which must hold: a case's data field
    equals the value as text or as JSON (`count=3`, `early=true`), or, for a list,
    holds it. Dates are ISO dates or times; a `_to` date takes in its whole UK day.
    `sort` is one of SORTS, `-` first for the reverse order.
    """

    workflow: str | None = None
    version: int | None = None
    authority: str | None = None
    nation: str | None = None
    state: str | None = None
    status: str | None = None
    where: tuple[str, ...] = ()
    started_from: str | date | datetime | None = None
    started_to: str | date | datetime | None = None
    moved_from: str | date | datetime | None = None
    moved_to: str | date | datetime | None = None
    missed: bool | None = None  # True: only cases with a deadline recorded missed; False: only those without
    sort: str = DEFAULT_SORT
    limit: int = DEFAULT_LIMIT
    after: str | None = None


@dataclass(frozen=True)
class CasePage:
    cases: list[CaseSummary]
    total: int  # every case the filters match, on all pages
    next: str | None  # the cursor for the page after this one; None on the last

    def to_dict(self) -> dict[str, Any]:
        return {"cases": [case.to_dict() for case in self.cases], "total": self.total, "next": self.next}


def _moment(value: str | date | datetime, option: str, *, end: bool) -> datetime:
    """A bound of a date filter; a date (not a time) as `to` means the end of that UK day."""
    try:
        if end and (isinstance(value, date) and not isinstance(value, datetime) or isinstance(value, str) and len(value.strip()) == 10):
            day = value if isinstance(value, date) else date.fromisoformat(value.strip())
            return day_over_at(day)
        return aware(value)
    except (ValueError, OverflowError) as error:  # BadTime and OutOfRange are ValueErrors
        raise InvalidData(f"{option}: {error}") from None


def _same(value: Any, wanted: str) -> bool:
    """A data value equals `wanted` as text, or as the JSON it reads as (a number, true, false, null); a list holds it."""
    if isinstance(value, list):
        return any(_same(item, wanted) for item in value)
    if isinstance(value, str):
        return value == wanted
    try:
        parsed = json.loads(wanted)
    except ValueError:
        return False
    if isinstance(value, bool) or isinstance(parsed, bool):
        return value is parsed
    return bool(value == parsed)


def data_fields(workflows: Iterable[CompiledWorkflow], index: CaseIndex) -> set[str]:
    """Every data field a workflow declares (to start, on a trigger, counted) or a case holds: what `where` may name."""
    fields: set[str] = set()
    for workflow in workflows:
        definition = workflow.definition
        fields.update(definition.data)
        for transition in definition.transitions:
            fields.update(transition.data, transition.increments)
    for row in index.rows.values():
        fields.update(row.data)
    return fields


class _Search:
    """A query checked and made ready to match cases."""

    def __init__(self, query: CaseQuery, workflows: list[CompiledWorkflow], index: CaseIndex):
        self.query = query
        descending = query.sort.startswith("-")
        self.key_name = query.sort[1:] if descending else query.sort
        if self.key_name not in SORTS:
            raise InvalidData(f"cannot sort by {query.sort!r}: sort by one of {', '.join(SORTS)}, with '-' first for the reverse order")
        self.descending = descending
        if not 1 <= query.limit <= MAX_LIMIT:
            raise InvalidData(f"limit must be between 1 and {MAX_LIMIT}, got {query.limit}")
        known_workflows = {w.definition.id for w in workflows} | {row.workflow for row in index.rows.values()}
        if query.workflow is not None and query.workflow not in known_workflows:
            raise InvalidData(f"no workflow {query.workflow!r}; workflows: {', '.join(sorted(known_workflows))}")
        self.nation = calendar_for(query.nation).nation if query.nation is not None else None  # an unknown nation: CalendarError
        self.where: list[tuple[str, str]] = []
        fields = data_fields(workflows, index) if query.where else set()
        for pair in query.where:
            name, sep, value = pair.partition("=")
            name = name.strip()
            if not sep or not name:
                raise InvalidData(f"where takes FIELD=VALUE, got {pair!r}")
            if name not in fields:
                raise InvalidData(f"where: no workflow has a data field {name!r} and no case holds one")
            self.where.append((name, value))
        self.started = self._bounds(query.started_from, query.started_to, "started")
        self.moved = self._bounds(query.moved_from, query.moved_to, "moved")
        self.digest = self._digest()
        self.after = self._cursor(query.after) if query.after is not None else None

    @staticmethod
    def _bounds(start: Any, end: Any, what: str) -> tuple[datetime | None, datetime | None, bool]:
        """(from, to, whether `to` itself is in): a date as `to` ends where its day is over, so that moment is out."""
        low = _moment(start, f"{what}_from", end=False) if start is not None else None
        high = _moment(end, f"{what}_to", end=True) if end is not None else None
        whole_day = end is not None and not isinstance(end, datetime) and (not isinstance(end, str) or len(end.strip()) == 10)
        return low, high, not whole_day

    @staticmethod
    def _within(moment: datetime, bounds: tuple[datetime | None, datetime | None, bool]) -> bool:
        low, high, inclusive = bounds
        if low is not None and moment < low:
            return False
        return high is None or moment < high or (inclusive and moment == high)

    def matches(self, row: CaseSummary) -> bool:
        q = self.query
        authority = row.authority
        return (
            (q.workflow is None or row.workflow == q.workflow)
            and (q.version is None or row.version == q.version)
            and (q.authority is None or (authority is not None and authority.casefold() == q.authority.strip().casefold()))
            and (self.nation is None or row.nation == self.nation)
            and (q.state is None or row.state == q.state)
            and (q.status is None or row.status == q.status)
            and all(name in row.data and _same(row.data[name], value) for name, value in self.where)
            and self._within(row.started_at, self.started)
            and self._within(row.moved_at, self.moved)
            and (q.missed is None or bool(row.missed) == q.missed)
        )

    def key(self, row: CaseSummary) -> tuple[Any, ...]:
        """The row's place in the order: its sort value, then its id so that no two rows tie."""
        value: Any = {
            "started": row.started_at.isoformat(),
            "moved": row.moved_at.isoformat(),
            "authority": (row.authority or "").casefold(),
            "workflow": [row.workflow, row.version],
            "state": row.state,
            "status": row.status or "",
            "id": "",
        }[self.key_name]
        return (value, str(row.case_id))

    def _digest(self) -> str:
        """What a cursor must belong to: the filters and the sort, read as this search reads them (not the limit)."""
        search = {**asdict(self.query), "limit": None, "after": None, "nation": self.nation, "where": sorted(self.where)}
        search.update({name: None if search[name] is None else str(search[name]) for name in ("started_from", "started_to", "moved_from", "moved_to")})
        return hashlib.sha256(json.dumps(search, sort_keys=True).encode()).hexdigest()[:16]

    def cursor_after(self, row: CaseSummary) -> str:
        text = json.dumps({"s": self.digest, "k": list(self.key(row))}, separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    def _cursor(self, text: str) -> tuple[Any, ...]:
        try:
            decoded = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            digest, key = decoded["s"], decoded["k"]
            if not isinstance(key, list) or len(key) != 2 or not isinstance(key[1], str):
                raise ValueError
        except (ValueError, TypeError, KeyError, binascii.Error):
            raise InvalidData(f"after: {text[:40]!r} is not a cursor a list of cases gave; start again without it") from None
        if digest != self.digest:
            raise InvalidData("after: that cursor belongs to another search (other filters or sort); start again without it")
        return (key[0], key[1])

    def beyond(self, key: tuple[Any, ...]) -> bool:
        """Whether a row with this key comes after the cursor's in the order."""
        assert self.after is not None
        try:
            return key < self.after if self.descending else key > self.after
        except TypeError:  # a cursor whose key is not of this sort's kind
            raise InvalidData("after: that cursor belongs to another search (other filters or sort); start again without it") from None


def search(index: CaseIndex, query: CaseQuery, workflows: Iterable[CompiledWorkflow]) -> CasePage:
    """One page of the cases `query` finds in `index`, in its order; `workflows` are the catalog's, for the names it may use."""
    found = _Search(query, list(workflows), index)
    rows = sorted((row for row in index.rows.values() if found.matches(row)), key=found.key, reverse=found.descending)
    total = len(rows)
    if found.after is not None:
        rows = [row for row in rows if found.beyond(found.key(row))]
    page = rows[: query.limit]
    more = len(rows) > query.limit
    return CasePage(page, total, found.cursor_after(page[-1]) if more else None)
