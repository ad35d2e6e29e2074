"""The domain: the Case aggregate, its events and hash chain, and the views queries answer with."""

from laworkflow.cases import topics as _topics  # noqa: F401  registers the topics of stores written before the relayout
from laworkflow.cases.case import GENESIS, SYSTEM_ACTOR, Case, event_digest, stored_digest
from laworkflow.cases.views import (
    AllowedTrigger,
    CaseCheck,
    CaseView,
    DueItem,
    DueKind,
    HistoryEntry,
    QuarantinedItem,
    RegisterEntry,
    VerifyReport,
    View,
    jsonable,
)

__all__ = [
    "AllowedTrigger",
    "Case",
    "CaseCheck",
    "CaseView",
    "DueItem",
    "DueKind",
    "GENESIS",
    "HistoryEntry",
    "QuarantinedItem",
    "RegisterEntry",
    "SYSTEM_ACTOR",
    "VerifyReport",
    "View",
    "event_digest",
    "jsonable",
    "stored_digest",
]
