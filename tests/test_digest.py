"""The digest each event carries, against its recipe written out here by hand.

An auditor reproduces a digest outside the engine from the recipe in
`laworkflow.cases.digest`: SHA-256 of `json.dumps` with sorted keys, no spaces,
ASCII escapes, moments in UTC ISO 8601 and ids as text, None fields and the
digest itself left out. The engine computes it faster than that one call, so
this test holds the two to the same bytes for every kind of value an event
holds, at the top level and nested.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest

from laworkflow.cases.digest import event_digest


def by_the_recipe(kind: str, fields: dict[str, Any]) -> str:
    def canonical(value: Any) -> str:
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat()
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, UUID):
            return str(value)
        raise TypeError(type(value).__name__)

    body = {key: value for key, value in fields.items() if key != "digest" and value is not None}
    text = json.dumps({"type": kind, **body}, sort_keys=True, separators=(",", ":"), default=canonical)
    return hashlib.sha256(text.encode()).hexdigest()


CASE = UUID("0b0e4e1c-9a52-4a43-9f0b-5d2a1c3e7f10")
LONDON_SUMMER = timezone(timedelta(hours=1))

FIELDS: list[dict[str, Any]] = [
    {  # an ordinary transition
        "originator_id": CASE,
        "originator_version": 7,
        "actor": "inspector",
        "effective_at": datetime(2013, 6, 9, 23, 0, tzinfo=UTC),
        "trigger": "record_evidence",
        "data": {"notebook": "evidence", "entry": "entry 1"},
        "prev_hash": "1" * 64,
        "timestamp": datetime(2026, 12, 6, 23, 4, 20, 732243, tzinfo=UTC),
    },
    {  # moments in another zone, a date, an id as text, None dropped, text beyond ASCII, floats, a field named "type"
        "originator_id": CASE,
        "originator_version": 1,
        "effective_at": datetime(2024, 7, 1, 9, 30, tzinfo=LONDON_SUMMER),
        "due_date": date(2024, 7, 26),
        "parent_id": None,
        "actor": "Siân Ó Dálaigh",
        "data": {"score": 2.5, "ratio": 1e-07, "names": ["Ysgol Gymraeg", "über"], "empty": {}},
        "type": "shadowed by the field",
        "digest": "left out",
    },
    {  # moments and ids nested inside data: encoded by the encoder's fallback, the same way
        "originator_id": CASE,
        "originator_version": 3,
        "data": {"seen_at": datetime(2020, 1, 6, 9, 0, tzinfo=LONDON_SUMMER), "on": date(2020, 1, 6), "case": CASE, "list": [CASE]},
    },
]


@pytest.mark.parametrize("fields", FIELDS, ids=["transition", "zones-dates-unicode", "nested"])
def test_the_digest_is_the_recipe_byte_for_byte(fields: dict[str, Any]) -> None:
    assert event_digest("Case.Transitioned", fields) == by_the_recipe("Case.Transitioned", fields)


def test_the_digest_refuses_a_value_the_recipe_cannot_write() -> None:
    with pytest.raises(TypeError):
        event_digest("Case.Transitioned", {"originator_id": CASE, "data": {"when": timedelta(days=1)}})
