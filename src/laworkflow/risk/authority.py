"""The Authority aggregate: a local authority's termly assessments and the concerns they raised, in the cases' store."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from laworkflow.risk.authorities import AuthorityRef, authority_id
from laworkflow.risk.criteria import CRITERION_IDS, AlreadyAssessed, RiskAssessment, term_key


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
        ratings: dict[str, dict[str, Any]]

        def change(self, authority: Authority) -> None:
            entry = {"term": self.term, "assessed_on": self.assessed_on, "ratings": self.ratings, "actor": self.actor}
            authority.assessments = {**authority.assessments, self.term: entry}

    class ConcernRaised(Event):
        term: str
        criteria: list[str]
        reason: str
        case_id: str | None

        def change(self, authority: Authority) -> None:
            entry = {
                "term": self.term,
                "criteria": list(self.criteria),
                "reason": self.reason,
                "case_id": self.case_id,
                "actor": self.actor,
                "effective_at": self.effective_at,
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
            self.ConcernRaised,
            term=term,
            criteria=list(criteria),
            reason=reason,
            case_id=str(case_id) if case_id else None,
            actor=actor,
            effective_at=at,
        )

    def terms(self) -> list[str]:
        return sorted(self.assessments, key=term_key)
