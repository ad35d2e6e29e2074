"""The eight risk criteria of the 2013 framework, terms, ratings, the concern rule, and the refusals of assessments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from laworkflow.calendar.bounds import Day
from laworkflow.errors import InvalidData, LaworkflowError, Problem

SEED_FRAMEWORK = "000_2d0a1f759528b76a.txt"  # Ofsted LAASSI framework, May 2013 (130040)
SEED_OXFORDSHIRE = "002_20ef7c825cf54e5b.txt"  # Oxfordshire report to Education Scrutiny, April 2015
DEFAULT_WORKFLOW = "ofsted-laassi"
SOS = "secretary_of_state_request"
OTHER_CONCERN = "other_concern"  # ofsted-laassi's concern for "other concerns" (framework para 7, 9)


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
    _criterion(
        "good_school_access_below_national",
        1,
        "1",
        "The proportion of children attending a good or better school, PRU or alternative provision is lower than nationally",
    ),
    _criterion(
        "schools_causing_concern_above_average",
        2,
        "2",
        "A higher than average number of schools in an Ofsted category of concern, and/or such schools not improving rapidly",
    ),
    _criterion(
        "not_good_schools_above_average",
        3,
        "3",
        "A higher than average proportion of schools not judged good (good or outstanding lower than the national average)",
    ),
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
CRITERION_IDS: tuple[CriterionId, ...] = get_args(CriterionId)
BY_ID: dict[str, Criterion] = {c.id: c for c in CRITERIA}
assert CRITERION_IDS == tuple(c.id for c in CRITERIA)

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

    def evaluate(self, ratings: Mapping[CriterionId, CriterionRating]) -> Verdict:
        reds = [c for c in CRITERION_IDS if c in ratings and ratings[c].rag == "red"]
        flagged = [c for c in CRITERION_IDS if c in ratings and ratings[c].rag in ("red", "amber")]
        criteria: list[str] = sorted(flagged, key=lambda c: (c != SOS, CRITERION_IDS.index(c)))
        why = []
        if len(reds) >= self.red_at_least:
            why.append(f"{len(reds)} red ({', '.join(reds)})")
        if len(flagged) >= self.amber_at_least:
            why.append(f"{len(flagged)} amber or worse")
        if not why:
            reason = f"no concern by the rule ({self.describe()}): {len(reds)} red, {len(flagged)} amber or worse"
            return Verdict(False, criteria, reason)
        return Verdict(True, criteria, f"{' and '.join(why)}; rule: {self.describe()}")


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
