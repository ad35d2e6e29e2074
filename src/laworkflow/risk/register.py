"""The risk register: termly assessments recorded, the concern rule applied, and the inspections it starts.

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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from pydantic import ValidationError

from laworkflow.calendar.clock import aware, uk_date
from laworkflow.cases.case import Case
from laworkflow.cases.views import View
from laworkflow.engine import Engine
from laworkflow.errors import InvalidData, LaworkflowError, UnknownDefinition
from laworkflow.logs import get_logger
from laworkflow.risk.authorities import AuthorityIndex, AuthorityRef, authority_id
from laworkflow.risk.authority import Authority
from laworkflow.risk.criteria import CRITERION_IDS, DEFAULT_WORKFLOW, OTHER_CONCERN, SOS, AssessmentDataError, ConcernRule, RiskAssessment, term_of
from laworkflow.risk.files import _pydantic_problems
from laworkflow.store import save_or_conflict

log = get_logger("laworkflow.risk")


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
    found: dict[str, dict[str, Any]] = {}
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


class RiskRegister:
    """Termly assessments, the concern rule and the inspections it starts, on an Engine's event store."""

    def __init__(self, engine: Engine, *, authorities: AuthorityIndex | None = None):
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
            log.info(
                "risk.assessed",
                authority=outcome.authority,
                term=outcome.term,
                concern=outcome.concern,
                case_id=str(outcome.case_id) if outcome.case_id else None,
                actor=actor,
            )
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
            record: object = self.engine.repository.get(authority_id(ref.code))
        except AggregateNotFoundError:
            return None
        if not isinstance(record, Authority):
            raise LaworkflowError(f"aggregate {authority_id(ref.code)} in this store is a {type(record).__name__}, not the authority {ref.code}")
        return record

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
            case_id: str | None = concern["case_id"]
            if not case_id:
                continue
            if case_id in planned:
                return case_id
            try:
                case: Case = self.engine.repository.get(UUID(case_id))
                ended = self.engine.pinned(case.definition_id, case.definition_version, case.definition_hash).is_terminal(case.state)
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
        save_or_conflict(self.register.engine.save, *self.authorities.values(), *self.cases, says="another writer changed an authority or case first")
        for case in self.cases:
            log.info("case.started", case_id=str(case.id), workflow=case.key, actor=self.actor, authority=case.data.get("authority"))
