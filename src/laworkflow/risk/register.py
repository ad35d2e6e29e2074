"""Risk triggers that decide whether to inspect an authority.

Ofsted does not inspect every authority: it inspects "where concerns about
performance are apparent or where requested to do so by the Secretary of
State" (framework, May 2013, preface and para 11). The Oxfordshire report of
April 2015 (para 5) shows how a region keeps the eight triggers: each rated
red, amber or green with a trend direction, reassessed every term.

Here an authority is an event-sourced aggregate kept in the same event store
as the cases. Each termly assessment is an `Assessed` event; when a
configurable rule says the ratings add up to a concern, a `ConcernRaised`
event is recorded and, if asked, an inspection case is started in the same
atomic write, the concern naming the case. A request by the Secretary of
State always raises a concern and starts a case.

Assessments come from CSV (one row per authority, term and criterion) or JSON
(a list of assessments); every problem in a file is reported, with its line,
before anything is written.

Choices where the seeds are silent, each also noted where it is made:
- the rule ("any red, or three ambers or worse") is configurable (`ConcernRule`);
- a term is a calendar year and a season, "2015-spring"; assessments are
  never replaced, so a term is assessed once per authority;
- criterion 8 rated red or amber is a risk, not a request: it counts towards
  the rule and is recorded in the concern, but only an explicit request puts
  `secretary_of_state_request` on a case (the workflow forbids declining it);
- a concern raised while the authority's last inspection case is still open
  starts no second case; a request by the Secretary of State always does;
- authorities are those of `reference/authorities.csv` (2015), named by code
  or name; an unknown one is refused with the nearest names.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args
from uuid import UUID, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .bounds import RANGE_TEXT, Day, within
from .case import Case
from .clock import aware, uk_date
from .errors import ConcurrentChange, InvalidData, LaworkflowError, Problem, UnknownDefinition
from .logs import get_logger
from .views import View

log = get_logger("laworkflow.risk")

SEED_FRAMEWORK = "000_2d0a1f759528b76a.txt"  # Ofsted LAASSI framework, May 2013 (130040)
SEED_OXFORDSHIRE = "002_20ef7c825cf54e5b.txt"  # Oxfordshire report to Education Scrutiny, April 2015
DEFAULT_WORKFLOW = "ofsted-laassi"
SOS = "secretary_of_state_request"
OTHER_CONCERN = "other_concern"  # ofsted-laassi's concern for "other concerns" (framework para 7, 9)

# --------------------------------------------------------------------- criteria


@dataclass(frozen=True)
class Cite:
    source: str
    para: str

    def __str__(self) -> str:
        return f"{self.source} {self.para}"


@dataclass(frozen=True)
class Criterion:
    """One risk trigger, numbered as in the Oxfordshire table (seed 002, para 5)."""

    id: str
    number: int
    text: str
    cites: tuple[Cite, ...]


def _criterion(id: str, row: int, bullet: str | None, text: str) -> Criterion:
    """A trigger: its row of the Oxfordshire table (seed 002, para 5) and, if it has one, its bullet of the framework's para 11."""
    table = Cite(SEED_OXFORDSHIRE, f"para 5, table row {row}")
    return Criterion(id, row, text, ((Cite(SEED_FRAMEWORK, f"para 11, bullet {bullet}"),) if bullet else ()) + (table,))


CRITERIA: tuple[Criterion, ...] = (
    _criterion("good_school_access_below_national", 1, "1", "The proportion of children attending a good or better school, PRU or alternative provision is lower than nationally"),
    _criterion("schools_causing_concern_above_average", 2, "2", "A higher than average number of schools in an Ofsted category of concern, and/or such schools not improving rapidly"),
    _criterion("not_good_schools_above_average", 3, "3", "A higher than average proportion of schools not judged good (good or outstanding lower than the national average)"),
    _criterion("attainment_below_national", 4, "4", "Attainment lower than nationally and/or a weak trend of improvement"),
    _criterion("progress_below_national", 5, "5", "Rates of progress, relative to starting points, lower than nationally and/or a weak trend of improvement"),
    # Not in the 2013 framework: the pupil-premium gap came with the 2014 revisions (seed 002, para 1, 5).
    _criterion("pupil_premium_gap", 6, None, "Pupils eligible for the Pupil Premium achieve less well than pupils not eligible nationally"),
    _criterion("qualifying_complaints", 7, "6", "The volume of qualifying complaints to Ofsted about schools in the area is a matter of concern"),
    _criterion(SOS, 8, "7; para 8 (s136(3))", "The Secretary of State requires an inspection of the authority's school improvement functions"),
)

CriterionId = Literal[
    "good_school_access_below_national",
    "schools_causing_concern_above_average",
    "not_good_schools_above_average",
    "attainment_below_national",
    "progress_below_national",
    "pupil_premium_gap",
    "qualifying_complaints",
    "secretary_of_state_request",
]
CRITERION_IDS: tuple[str, ...] = tuple(c.id for c in CRITERIA)
BY_ID: dict[str, Criterion] = {c.id: c for c in CRITERIA}
assert CRITERION_IDS == get_args(CriterionId)

Rag = Literal["red", "amber", "green"]
Trend = Literal["improving", "stable", "declining", "mixed"]
RAGS: tuple[str, ...] = get_args(Rag)
TRENDS: tuple[str, ...] = get_args(Trend)
SEASONS = ("spring", "summer", "autumn")  # in calendar order within a year
TERM_PATTERN = r"^\d{4}-(autumn|spring|summer)$"


def term_key(term: str) -> tuple[int, int]:
    """Order terms in time: 2014-autumn < 2015-spring < 2015-summer < 2015-autumn."""
    year, season = term.split("-")
    return int(year), SEASONS.index(season)


def term_of(day: date) -> str:
    """The term a day falls in: January-March spring, April-August summer, September-December autumn (a choice)."""
    season = "spring" if day.month <= 3 else "summer" if day.month <= 8 else "autumn"
    return f"{day.year}-{season}"


# ----------------------------------------------------------------------- models


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class CriterionRating(_Strict):
    """One criterion's RAG rating, trend direction and comment (seed 002, para 5, table columns)."""

    rag: Rag
    trend: Trend | None = None
    comment: str = ""

    @field_validator("rag", "trend", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lower()
            return value or None
        return value


class RiskAssessment(_Strict):
    """One authority's ratings on all eight criteria for one term."""

    authority: str = Field(min_length=1, description="The authority's code (e.g. 931) or name (Oxfordshire).")
    term: str = Field(pattern=TERM_PATTERN, description="YYYY-spring, YYYY-summer or YYYY-autumn (calendar year).")
    assessed_on: Day
    ratings: dict[CriterionId, CriterionRating]

    @model_validator(mode="after")
    def _all_criteria(self) -> RiskAssessment:
        missing = [c for c in CRITERION_IDS if c not in self.ratings]
        if missing:
            raise ValueError(f"ratings must cover all eight criteria; missing: {', '.join(missing)}")
        return self


@dataclass(frozen=True)
class Verdict:
    """What a rule makes of one set of ratings."""

    raised: bool
    criteria: list[str]  # rated red or amber, the Secretary of State's first, then in criterion order
    reason: str


class ConcernRule(_Strict):
    """When ratings raise a concern: at least `red_at_least` reds, or at least `amber_at_least` ambers or worse.

    A choice: the seed rates the criteria but gives no rule. The default is
    "any red, or three ambers"; a red counts towards the ambers too (it is
    amber or worse). A request by the Secretary of State raises a concern
    whatever the ratings (`RiskRegister.request_by_secretary_of_state`).
    """

    red_at_least: int = Field(default=1, ge=1)
    amber_at_least: int = Field(default=3, ge=1)

    def describe(self) -> str:
        reds = "any red" if self.red_at_least == 1 else f"{self.red_at_least} reds"
        return f"{reds}, or {self.amber_at_least} ambers or worse"

    def evaluate(self, ratings: Mapping[str, CriterionRating]) -> Verdict:
        reds = [c for c in CRITERION_IDS if c in ratings and ratings[c].rag == "red"]
        flagged = [c for c in CRITERION_IDS if c in ratings and ratings[c].rag in ("red", "amber")]
        criteria = sorted(flagged, key=lambda c: (c != SOS, CRITERION_IDS.index(c)))
        why = []
        if len(reds) >= self.red_at_least:
            why.append(f"{len(reds)} red ({', '.join(reds)})")
        if len(flagged) >= self.amber_at_least:
            why.append(f"{len(flagged)} amber or worse")
        if not why:
            reason = f"no concern by the rule ({self.describe()}): {len(reds)} red, {len(flagged)} amber or worse"
            return Verdict(False, criteria, reason)
        return Verdict(True, criteria, f"{' and '.join(why)}; rule: {self.describe()}")


# ---------------------------------------------------------------------- errors


class AssessmentDataError(InvalidData):
    """Assessment data (CSV or JSON) was rejected; carries every problem found, each with its line."""

    code = "invalid_assessment_data"

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s) in assessment data: " + "; ".join(str(p) for p in self.problems))


class UnknownAuthority(InvalidData, LookupError):
    code = "unknown_authority"


class AlreadyAssessed(LaworkflowError):
    """An authority already has an assessment for that term; assessments are never overwritten."""

    code = "already_assessed"


# ------------------------------------------------------------------ authorities


@dataclass(frozen=True)
class AuthorityRef:
    code: str
    name: str
    nation: str


def _normal(text: str) -> str:
    text = text.lower().replace("&", " and ").replace(".", "")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


_FILLER = {"council", "county", "city", "of", "the", "borough", "metropolitan", "london", "royal", "district"}


def _loose(text: str) -> str:
    return " ".join(w for w in _normal(text).split() if w not in _FILLER)


class AuthorityIndex:
    """The authorities an assessment may name, found by code or name (case and punctuation ignored)."""

    def __init__(self, rows: Iterable[AuthorityRef]):
        self.rows = list(rows)
        self._exact: dict[str, AuthorityRef] = {}
        loose: dict[str, list[AuthorityRef]] = {}
        for ref in self.rows:
            for key in (_normal(ref.code), _normal(ref.name)):
                self._exact.setdefault(key, ref)
            if _loose(ref.name):
                loose.setdefault(_loose(ref.name), []).append(ref)
        self._loose = {k: v[0] for k, v in loose.items() if len(v) == 1}

    @classmethod
    def from_csv(cls, text: str) -> AuthorityIndex:
        return cls(AuthorityRef(r["code"].strip(), r["name"].strip(), r["nation"].strip()) for r in csv.DictReader(io.StringIO(text)))

    @classmethod
    def shipped(cls) -> AuthorityIndex:
        """The 22 Welsh and 152 English authorities responsible for education in 2015 (reference/authorities.csv)."""
        return _shipped()

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def find(self, text: str) -> AuthorityRef | None:
        return self._exact.get(_normal(text)) or self._loose.get(_loose(text))

    def resolve(self, text: str) -> AuthorityRef:
        ref = self.find(text)
        if ref is None:
            names = {row.name: row for row in self.rows}
            close = difflib.get_close_matches(text, list(names), n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(f'{n!r} ({names[n].code})' for n in close)}?" if close else ""
            raise UnknownAuthority(f"unknown authority {text!r}: give a code (e.g. 931) or name (e.g. Oxfordshire) of the reference list{hint}")
        return ref


@lru_cache(maxsize=1)
def _shipped() -> AuthorityIndex:
    text = resources.files("laworkflow").joinpath("reference/authorities.csv").read_text(encoding="utf-8")
    return AuthorityIndex.from_csv(text)


AUTHORITY_NAMESPACE = UUID("5d6f3c1e-7a0b-4c53-9a1e-2b8f0e4d7c61")


def authority_id(code: str) -> UUID:
    """The aggregate id of an authority: uuid5 of a fixed namespace and its code, lower-cased."""
    return uuid5(AUTHORITY_NAMESPACE, code.strip().lower())


# ---------------------------------------------------------------------- loading


def _pydantic_problems(error: ValidationError, source: str, line: int | None, where: str) -> list[Problem]:
    found = []
    for item in error.errors():
        loc = ".".join(str(part) for part in item["loc"])
        got = f" (got {item['input']!r})" if item["type"] not in ("missing", "value_error") and not isinstance(item["input"], dict) else ""
        location = f"{where}, {loc}" if loc else where
        found.append(Problem(source, location, f"{item['msg']}{got}", line))
    return found


def _check_authority(index: AuthorityIndex, text: str, source: str, line: int | None, where: str, problems: list[Problem]) -> AuthorityRef | None:
    try:
        return index.resolve(text)
    except UnknownAuthority as error:
        problems.append(Problem(source, where, str(error), line))
        return None


def _iso_date(text: str) -> date | None:
    """A date YYYY-MM-DD inside `laworkflow.bounds`, or None."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if within(day) else None


CSV_COLUMNS = ("authority", "term", "assessed_on", "criterion", "rag", "trend", "comment")


def parse_csv(text: str, source: str = "<csv>", *, authorities: AuthorityIndex | None = None) -> list[RiskAssessment]:
    """Assessments from CSV, one row per authority, term and criterion; every problem reported with its line."""
    index = authorities or AuthorityIndex.shipped()
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise AssessmentDataError([Problem(source, "", f"empty file; expected a header {','.join(CSV_COLUMNS)}", 1)]) from None
    missing = [c for c in CSV_COLUMNS if c not in header]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if missing or unknown:
        parts = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + ([f"unknown column(s) {', '.join(unknown)}"] if unknown else [])
        raise AssessmentDataError([Problem(source, "header", f"{'; '.join(parts)}; expected {','.join(CSV_COLUMNS)}", 1)])

    groups: dict[tuple[str, str], dict[str, Any]] = {}
    last_line, rows = reader.line_num, 0
    for raw in reader:
        line, last_line = last_line + 1, reader.line_num
        if not any(cell.strip() for cell in raw):
            continue
        rows += 1
        if len(raw) != len(header):
            problems.append(Problem(source, f"row {rows}", f"{len(raw)} field(s), expected {len(header)} ({','.join(header)})", line))
            continue
        row = {name: cell.strip() for name, cell in zip(header, raw)}
        where, before = f"row {rows}", len(problems)
        ref = _check_authority(index, row["authority"], source, line, where, problems) if row["authority"] else None
        day = _iso_date(row["assessed_on"])
        for wrong, message in (
            (not row["authority"], "authority is empty"),
            (not re.match(TERM_PATTERN, row["term"]), f"term {row['term']!r} is not YYYY-spring, YYYY-summer or YYYY-autumn (e.g. 2015-spring)"),
            (day is None, f"assessed_on {row['assessed_on']!r} is not a date YYYY-MM-DD from {RANGE_TEXT}"),
            (row["criterion"] not in BY_ID, f"unknown criterion {row['criterion']!r}; one of {', '.join(CRITERION_IDS)}"),
        ):
            if wrong:
                problems.append(Problem(source, where, message, line))
        try:
            rating = CriterionRating(rag=row["rag"], trend=row["trend"] or None, comment=row["comment"])
        except ValidationError as error:
            problems.extend(_pydantic_problems(error, source, line, where))
        if len(problems) > before or ref is None:
            continue
        group = groups.setdefault((ref.code, row["term"]), {"assessed_on": day, "line": line, "ratings": {}, "lines": {}})
        where_group = f"{where} ({ref.name} {row['term']})"
        if day != group["assessed_on"]:
            problems.append(Problem(source, where_group, f"assessed_on {day} differs from {group['assessed_on']} on line {group['line']}", line))
        if row["criterion"] in group["ratings"]:
            first = group["lines"][row["criterion"]]
            problems.append(Problem(source, where_group, f"criterion {row['criterion']} rated twice (first on line {first})", line))
            continue
        group["ratings"][row["criterion"]] = rating
        group["lines"][row["criterion"]] = line
    if rows == 0 and not problems:
        problems.append(Problem(source, "", "no assessments: the file has a header but no rows", 1))

    found = []
    for (code, term), group in groups.items():
        missing = [c for c in CRITERION_IDS if c not in group["ratings"]]
        if missing:
            problems.append(Problem(source, f"{code} {term}", f"not rated on {', '.join(missing)} (all eight criteria are needed)", group["line"]))
            continue
        found.append(RiskAssessment(authority=code, term=term, assessed_on=group["assessed_on"], ratings=group["ratings"]))
    if problems:
        raise AssessmentDataError(sorted(problems, key=lambda p: p.line or 0))
    return found


def _json_items(text: str, source: str) -> list[tuple[int, Any]]:
    """The items of a top-level JSON array, each with the line it starts on."""
    decoder = json.JSONDecoder()
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        raise AssessmentDataError([Problem(source, f"column {error.colno}", f"not valid JSON: {error.msg}", error.lineno)]) from None
    pos = len(text) - len(text.lstrip())
    if not text[pos:].startswith("["):
        raise AssessmentDataError([Problem(source, "", "expected a JSON list of assessments, [{...}, ...]", text.count("\n", 0, pos) + 1)])
    items, pos = [], pos + 1
    while True:
        while text[pos] in " \t\r\n,":
            pos += 1
        if text[pos] == "]":
            return items
        value, end = decoder.raw_decode(text, pos)
        items.append((text.count("\n", 0, pos) + 1, value))
        pos = end


def parse_json(text: str, source: str = "<json>", *, authorities: AuthorityIndex | None = None) -> list[RiskAssessment]:
    """Assessments from a JSON list of RiskAssessment objects; every problem reported with its item and line."""
    index = authorities or AuthorityIndex.shipped()
    problems: list[Problem] = []
    found: list[RiskAssessment] = []
    seen: dict[tuple[str, str], int] = {}
    items = _json_items(text.lstrip("\ufeff"), source)
    if not items:
        raise AssessmentDataError([Problem(source, "", "no assessments: the list is empty", 1)])
    for number, (line, item) in enumerate(items):
        where = f"item {number}"
        if not isinstance(item, dict):
            problems.append(Problem(source, where, f"expected an object, got {type(item).__name__}", line))
            continue
        try:
            assessment = RiskAssessment.model_validate(item)
        except ValidationError as error:
            problems.extend(_pydantic_problems(error, source, line, where))
            if isinstance(item.get("authority"), str) and item["authority"].strip():
                _check_authority(index, item["authority"], source, line, f"{where}, authority", problems)
            continue
        ref = _check_authority(index, assessment.authority, source, line, f"{where}, authority", problems)
        if ref is None:
            continue
        key = (ref.code, assessment.term)
        if key in seen:
            problems.append(Problem(source, where, f"{ref.name} {assessment.term} is assessed twice (first on line {seen[key]})", line))
            continue
        seen[key] = line
        found.append(assessment.model_copy(update={"authority": ref.code}))
    if problems:
        raise AssessmentDataError(problems)
    return found


def load_assessments(path: str | Path, *, authorities: AuthorityIndex | None = None) -> list[RiskAssessment]:
    """Read a CSV or JSON file of assessments (by suffix; otherwise JSON if it starts with '[')."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidData(f"cannot read assessments file {str(path)!r}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise AssessmentDataError([Problem(str(path), "", "not UTF-8 text")]) from None
    is_json = path.suffix.lower() == ".json" or (path.suffix.lower() != ".csv" and text.lstrip("\ufeff \t\r\n").startswith("["))
    parse = parse_json if is_json else parse_csv
    return parse(text, str(path), authorities=authorities)


# -------------------------------------------------------------------- aggregate


class Authority(Aggregate):
    """A local authority's termly risk assessments and the concerns they raised."""

    class Event(Aggregate.Event):
        actor: str
        effective_at: datetime

        def apply(self, authority: Authority) -> None:
            self.change(authority)

        def change(self, authority: Authority) -> None:
            """What this kind of event changes."""

    class Registered(Event, Aggregate.Created):
        code: str
        name: str
        nation: str

    class Assessed(Event):
        term: str
        assessed_on: str  # ISO date
        ratings: dict

        def change(self, authority: Authority) -> None:
            entry = {"term": self.term, "assessed_on": self.assessed_on, "ratings": self.ratings, "actor": self.actor}
            authority.assessments = {**authority.assessments, self.term: entry}

    class ConcernRaised(Event):
        term: str
        criteria: list
        reason: str
        case_id: str | None

        def change(self, authority: Authority) -> None:
            entry = {
                "term": self.term, "criteria": list(self.criteria), "reason": self.reason, "case_id": self.case_id,
                "actor": self.actor, "effective_at": self.effective_at,
            }
            authority.concerns = [*authority.concerns, entry]

    def __init__(self, code: str, name: str, nation: str) -> None:
        self.code = code
        self.name = name
        self.nation = nation
        self.assessments: dict[str, dict[str, Any]] = {}
        self.concerns: list[dict[str, Any]] = []

    @classmethod
    def register(cls, ref: AuthorityRef, *, actor: str, at: datetime) -> Authority:
        return cls._create(cls.Registered, id=authority_id(ref.code), code=ref.code, name=ref.name, nation=ref.nation, actor=actor, effective_at=at)

    def check_new_term(self, term: str) -> None:
        if term in self.assessments:
            previous = self.assessments[term]
            raise AlreadyAssessed(
                f"{self.name} ({self.code}) was already assessed for {term} (on {previous['assessed_on']}); "
                "an assessment is never replaced: assess the next term"
            )

    def assess(self, assessment: RiskAssessment, *, actor: str, at: datetime) -> None:
        self.check_new_term(assessment.term)
        ratings = {c: assessment.ratings[c].model_dump(mode="json") for c in CRITERION_IDS}
        self.trigger_event(self.Assessed, term=assessment.term, assessed_on=assessment.assessed_on.isoformat(), ratings=ratings, actor=actor, effective_at=at)

    def raise_concern(self, term: str, criteria: list[str], reason: str, case_id: UUID | None, *, actor: str, at: datetime) -> None:
        self.trigger_event(
            self.ConcernRaised, term=term, criteria=list(criteria), reason=reason,
            case_id=str(case_id) if case_id else None, actor=actor, effective_at=at,
        )

    def terms(self) -> list[str]:
        return sorted(self.assessments, key=term_key)


# ------------------------------------------------------------------------ views


@dataclass(frozen=True)
class AssessmentOutcome(View):
    authority: str
    name: str
    term: str
    assessed_on: date
    concern: bool
    criteria: list[str]
    reason: str
    case_id: UUID | None


@dataclass(frozen=True)
class AuthorityView(View):
    id: UUID
    code: str
    name: str
    nation: str
    latest: dict[str, Any] | None
    trend: dict[str, dict[str, Any]]
    assessments: list[dict[str, Any]]
    concerns: list[dict[str, Any]]
    case_ids: list[str] = field(default_factory=list)


_ORDER = {"green": 0, "amber": 1, "red": 2}


def _trend(latest: dict[str, Any] | None, previous: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Per criterion: the latest RAG and reported trend, and how the RAG moved since the previous assessed term."""
    if latest is None:
        return {}
    found = {}
    for criterion in CRITERION_IDS:
        now = latest["ratings"][criterion]
        before = previous["ratings"][criterion]["rag"] if previous else None
        if before is None:
            movement = None
        else:
            delta = _ORDER[now["rag"]] - _ORDER[before]
            movement = "worse" if delta > 0 else "better" if delta < 0 else "unchanged"
        found[criterion] = {"rag": now["rag"], "reported": now["trend"], "previous_rag": before, "since_previous": movement}
    return found


# ---------------------------------------------------------------------- service


class RiskRegister:
    """Termly assessments, the concern rule and the inspections it starts, on an Engine's event store."""

    def __init__(self, engine: Any, *, authorities: AuthorityIndex | None = None):
        self.engine = engine
        self.authorities = authorities or AuthorityIndex.shipped()

    # -------------------------------------------------------------- commands

    def assess(
        self,
        assessment: RiskAssessment | Mapping[str, Any],
        *,
        rule: ConcernRule | None = None,
        actor: str,
        start_inspection: bool = False,
        workflow: str = DEFAULT_WORKFLOW,
    ) -> AssessmentOutcome:
        """Record one assessment; when the rule raises a concern, record it and optionally start an inspection."""
        return self.assess_all([assessment], rule=rule, actor=actor, start_inspection=start_inspection, workflow=workflow)[0]

    def assess_all(
        self,
        assessments: Iterable[RiskAssessment | Mapping[str, Any]],
        *,
        rule: ConcernRule | None = None,
        actor: str,
        start_inspection: bool = False,
        workflow: str = DEFAULT_WORKFLOW,
    ) -> list[AssessmentOutcome]:
        """Record many assessments in one atomic write: all of them, with their concerns and cases, or nothing."""
        items = [self._validated(a) for a in assessments]
        rule = rule or ConcernRule()
        if start_inspection:
            self.engine.catalog.get(workflow)  # an unknown workflow is refused before anything else

        def attempt() -> list[AssessmentOutcome]:
            plan = _Batch(self, actor)
            outcomes = [self._plan_one(plan, item, rule, actor, workflow if start_inspection else None) for item in items]
            plan.save()
            return outcomes

        outcomes = self.engine.retrying(attempt)
        for outcome in outcomes:
            log.info("risk.assessed", authority=outcome.authority, term=outcome.term, concern=outcome.concern,
                     case_id=str(outcome.case_id) if outcome.case_id else None, actor=actor)
        return outcomes

    def request_by_secretary_of_state(
        self,
        authority: str,
        *,
        actor: str,
        at: datetime | date | str | None = None,
        workflow: str = DEFAULT_WORKFLOW,
        reason: str = "",
    ) -> UUID:
        """The Secretary of State requires an inspection (framework para 8, s136(3); para 11): always a concern and a case."""
        ref = self.authorities.resolve(authority)
        moment = aware(at) if at is not None else self.engine.clock.now()
        self.engine.catalog.get(workflow)
        why = "request by the Secretary of State (s136(3); framework para 8, 11)" + (f": {reason}" if reason else "")

        def attempt() -> UUID:
            plan = _Batch(self, actor)
            record = plan.authority(ref, actor, moment)
            case, note = self._begin_case(workflow, ref, [SOS], actor, moment)
            plan.cases.append(case)
            record.raise_concern(term_of(uk_date(moment)), [SOS], why + note, case.id, actor=actor, at=moment)
            plan.save()
            return case.id

        case_id = self.engine.retrying(attempt)
        log.info("risk.secretary_of_state_request", authority=ref.code, case_id=str(case_id), actor=actor)
        return case_id

    # --------------------------------------------------------------- queries

    def authority(self, authority: str) -> AuthorityView:
        """An authority's latest ratings, their trend, every assessment, the concerns raised and the cases they started."""
        ref = self.authorities.resolve(authority)
        record = self._get(ref)
        if record is None:
            return AuthorityView(authority_id(ref.code), ref.code, ref.name, ref.nation, None, {}, [], [], [])
        history = [record.assessments[t] for t in record.terms()]
        latest = history[-1] if history else None
        previous = history[-2] if len(history) > 1 else None
        concerns = [dict(c) for c in record.concerns]
        cases = [c["case_id"] for c in concerns if c["case_id"]]
        return AuthorityView(record.id, record.code, record.name, record.nation, latest, _trend(latest, previous), history, concerns, cases)

    # --------------------------------------------------------------- helpers

    def _validated(self, assessment: RiskAssessment | Mapping[str, Any]) -> RiskAssessment:
        if isinstance(assessment, RiskAssessment):
            return assessment
        try:
            return RiskAssessment.model_validate(dict(assessment))
        except ValidationError as error:
            raise AssessmentDataError(_pydantic_problems(error, "<assessment>", None, "assessment")) from None

    def _get(self, ref: AuthorityRef) -> Authority | None:
        try:
            return self.engine.repository.get(authority_id(ref.code))
        except AggregateNotFoundError:
            return None

    def _plan_one(self, plan: _Batch, item: RiskAssessment, rule: ConcernRule, actor: str, workflow: str | None) -> AssessmentOutcome:
        ref = self.authorities.resolve(item.authority)
        moment = aware(item.assessed_on)
        record = plan.authority(ref, actor, moment)
        record.check_new_term(item.term)
        verdict = rule.evaluate(item.ratings)
        case = None
        reason = verdict.reason
        if verdict.raised and workflow is not None:
            open_case = self._open_case(record, plan)
            if open_case:
                reason += f"; inspection case {open_case} is still open, so no new case was started"
            else:
                # A rated criterion 8 is a risk, not a request: the case carries it only when the Secretary of
                # State asks (request_by_secretary_of_state), since the workflow then forbids declining (para 8).
                rated = [c for c in verdict.criteria if c != SOS]
                case, note = self._begin_case(workflow, ref, rated, actor, moment)
                if SOS in verdict.criteria:
                    note += f"; {SOS} is rated, not requested, so the case does not carry it"
                reason += note
                plan.cases.append(case)
        record.assess(item, actor=actor, at=moment)
        if verdict.raised:
            record.raise_concern(item.term, verdict.criteria, reason, case.id if case else None, actor=actor, at=moment)
        return AssessmentOutcome(ref.code, ref.name, item.term, item.assessed_on, verdict.raised, verdict.criteria, reason, case.id if case else None)

    def _open_case(self, record: Authority, plan: _Batch) -> str | None:
        """The case of an earlier concern that has not ended: a new concern joins it rather than starting another."""
        planned = {str(c.id) for c in plan.cases}
        for concern in reversed(record.concerns):
            case_id = concern["case_id"]
            if not case_id:
                continue
            if case_id in planned:
                return case_id
            try:
                case: Case = self.engine.repository.get(UUID(case_id))
                ended = self.engine.catalog.get(case.definition_id, case.definition_version).is_terminal(case.state)
            except (AggregateNotFoundError, UnknownDefinition):
                ended = False
            if not ended:
                return case_id
        return None

    def _begin_case(self, workflow: str, ref: AuthorityRef, criteria: list[str], actor: str, moment: datetime) -> tuple[Case, str]:
        """An inspection case for a concern, not yet saved, on the version in force that day (as `Engine.start` picks it);
        and a note of how the criteria became the case's concerns."""
        compiled = self.engine.catalog.get(workflow, on=uk_date(moment))
        definition = compiled.definition
        if definition.calendar != ref.nation:
            raise InvalidData(
                f"{definition.key} inspects authorities in {definition.calendar.title()}; {ref.name} ({ref.code}) is in "
                f"{ref.nation.title()}: name a workflow for its nation, or record the assessment without starting an inspection"
            )
        concerns, note = _case_concerns(definition, criteria)
        case = Case.begin(compiled, data={"authority": ref.name, "concerns": concerns}, parameters=None, actor=actor, at=moment, case_id=uuid4())
        return case, note


def _case_concerns(definition: Any, criteria: list[str]) -> tuple[list[str], str]:
    """The criteria as the workflow's `concerns`; a criterion it does not list is passed as `other_concern`."""
    spec = definition.data.get("concerns")
    choices = (spec.choices if spec is not None else None) or [*criteria, OTHER_CONCERN]
    accepted = [c for c in criteria if c in choices]
    refused = [c for c in criteria if c not in choices]
    if accepted and not refused:
        return accepted, ""
    if OTHER_CONCERN not in choices:
        raise InvalidData(
            f"{definition.key} does not list {', '.join(refused) or 'a concern for these ratings'} among its concerns "
            f"({', '.join(choices)}); add them to the workflow or use one that lists them"
        )
    note = f"; {', '.join(refused)} passed to {definition.key} as {OTHER_CONCERN} (not among its concerns)" if refused else ""
    return [*accepted, OTHER_CONCERN], note


class _Batch:
    """Authorities and cases changed by one command, saved together in one atomic write."""

    def __init__(self, register: RiskRegister, actor: str):
        self.register = register
        self.actor = actor
        self.authorities: dict[UUID, Authority] = {}
        self.cases: list[Case] = []

    def authority(self, ref: AuthorityRef, actor: str, at: datetime) -> Authority:
        key = authority_id(ref.code)
        if key not in self.authorities:
            self.authorities[key] = self.register._get(ref) or Authority.register(ref, actor=actor, at=at)
        return self.authorities[key]

    def save(self) -> None:
        try:
            self.register.engine.save(*self.authorities.values(), *self.cases)
        except IntegrityError:
            raise ConcurrentChange("another writer changed an authority or case first") from None
        for case in self.cases:
            log.info("case.started", case_id=str(case.id), workflow=case.key, actor=self.actor, authority=case.data.get("authority"))


__all__ = [
    "AUTHORITY_NAMESPACE", "AlreadyAssessed", "AssessmentDataError", "AssessmentOutcome", "Authority",
    "AuthorityIndex", "AuthorityRef", "AuthorityView", "CRITERIA", "CRITERION_IDS", "ConcernRule", "Criterion",
    "CriterionRating", "RiskAssessment", "RiskRegister", "UnknownAuthority", "Verdict", "authority_id",
    "load_assessments", "parse_csv", "parse_json", "term_key", "term_of",
]
