"""Termly risk assessments of local authorities, the concern rule, and the Authority aggregate that records them."""

from eventsourcing.utils import register_topic

from laworkflow.risk.authorities import AUTHORITY_NAMESPACE, AuthorityIndex, AuthorityRef, authority_id
from laworkflow.risk.authority import Authority
from laworkflow.risk.criteria import (
    CRITERIA,
    CRITERION_IDS,
    AlreadyAssessed,
    AssessmentDataError,
    ConcernRule,
    Criterion,
    CriterionRating,
    RiskAssessment,
    UnknownAuthority,
    Verdict,
    term_key,
    term_of,
)
from laworkflow.risk.files import load_assessments, parse_csv, parse_json
from laworkflow.risk.register import AssessmentOutcome, AuthorityView, RiskRegister

FORMER_AUTHORITY_TOPIC = "laworkflow.risk:Authority"  # the topic of stores written before risk became a package
register_topic(FORMER_AUTHORITY_TOPIC, Authority)

__all__ = [
    "AUTHORITY_NAMESPACE",
    "AlreadyAssessed",
    "AssessmentDataError",
    "AssessmentOutcome",
    "Authority",
    "AuthorityIndex",
    "AuthorityRef",
    "AuthorityView",
    "CRITERIA",
    "CRITERION_IDS",
    "ConcernRule",
    "Criterion",
    "CriterionRating",
    "FORMER_AUTHORITY_TOPIC",
    "RiskAssessment",
    "RiskRegister",
    "UnknownAuthority",
    "Verdict",
    "authority_id",
    "load_assessments",
    "parse_csv",
    "parse_json",
    "term_key",
    "term_of",
]
