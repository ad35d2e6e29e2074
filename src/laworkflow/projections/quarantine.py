"""The quarantine: what the timer index set aside rather than stop for, as entries a person can read and release.

An event whose effect on the index cannot be worked out, a stored row that
cannot be read back, or a due item whose handling failed becomes an entry,
recorded in the same transaction as the position, notified and logged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from laworkflow.cases.views import DueItem, QuarantinedItem
from laworkflow.logs import get_logger

log = get_logger("laworkflow.due_index")


def error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:500]


def set_aside_at() -> datetime:
    """When something was set aside: the machine's time, an operational fact (not a moment of any case)."""
    return datetime.now(UTC)


def item_entry_id(key: tuple[Any, str, str]) -> str:
    case_id, kind, name = key
    return f"{kind}:{case_id}:{name}"


def event_entry(event: Any, error: BaseException, workflow: str, position: int | None) -> QuarantinedItem:
    """An event (or a stored notification that would not even decode) whose effect on the index could not be worked out."""
    name = next((getattr(event, f) for f in ("timer_id", "deadline_id") if isinstance(getattr(event, f, None), str)), "")
    kind = type(event).__name__ if not hasattr(event, "topic") else str(event.topic).rpartition(".")[2] or "event"
    return QuarantinedItem(
        id=f"event:{event.originator_id}:{event.originator_version}",
        source="event",
        case_id=UUID(str(event.originator_id)),
        kind=kind,
        name=name,
        error=error_text(error),
        quarantined_at=set_aside_at(),
        position=position,
        version=event.originator_version,
        workflow=workflow,
    )


def item_entry(item: DueItem, error: BaseException) -> QuarantinedItem:
    """A due item whose handling failed."""
    return QuarantinedItem(
        id=item_entry_id((item.case_id, item.kind, item.name)),
        source="item",
        case_id=item.case_id,
        kind=item.kind,
        name=item.name,
        error=error_text(error),
        quarantined_at=set_aside_at(),
        due_at=item.due_at,
        workflow=item.workflow,
        detail=item.detail,
    )


def logged(entry: QuarantinedItem) -> QuarantinedItem:
    log.warning(
        "due_index.item_quarantined",
        id=entry.id,
        source=entry.source,
        case_id=str(entry.case_id),
        kind=entry.kind,
        name=entry.name,
        position=entry.position,
        error=entry.error,
    )
    return entry
