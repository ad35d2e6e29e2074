"""The digest each event carries: SHA-256 over its canonical JSON, chained by `prev_hash`.

Kept apart from the aggregate so the recipe can be read (and reproduced outside
the engine) on its own; `laworkflow.cases.case` records it on every event and
`verify` recomputes it from what the store gives back.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, (date, UUID)):
        return str(value) if isinstance(value, UUID) else value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} canonically")


# `json.dumps(body, sort_keys=True, separators=(",", ":"), default=_canonical)`, the recipe, with its encoder built once.
# The moments and ids an event holds at its top level are written as `_canonical` writes them before encoding (the same
# text, without a call back from the encoder for each); one nested deeper still goes through `default`.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=_canonical)
_CANONICAL_TYPES = frozenset({datetime, date, UUID})


def event_digest(kind: str, fields: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of an event's type and fields (its own digest excluded).

    Fields that are None are left out, so an optional field added to an event
    class later (upcast to None on old events) leaves old digests valid.
    """
    body: dict[str, Any] = {"type": kind}
    for key, value in fields.items():
        if value is not None and key != "digest":
            body[key] = _canonical(value) if type(value) in _CANONICAL_TYPES else value
    return hashlib.sha256(_ENCODER.encode(body).encode()).hexdigest()


def stored_digest(event: Any) -> str:
    """Recompute the digest of an event as it came back from the store."""
    fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    return event_digest(type(event).__qualname__, fields)


def unexpected_fields(event: Any) -> list[str]:
    """Names of fields a stored event came back with that its class does not have.

    The mapper restores every key of the stored JSON onto the event, and the
    digest covers only the class's fields, so a key added in the database would
    otherwise ride along unseen: `verify` reports it as tampering and `history`
    leaves it out of the details (flagging it by name).
    """
    known = {f.name for f in dataclasses.fields(event)}
    return sorted(name for name in vars(event) if name not in known)


__all__ = ["event_digest", "stored_digest", "unexpected_fields"]
