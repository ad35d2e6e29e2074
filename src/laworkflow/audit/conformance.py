"""Stored events against the events a definition gives: findings, and the words that explain them.

Events are compared on their type and every field but those that record
where and when they were written rather than what happened: the recording
timestamp, the digest, the link to the previous digest and the originator
fields. The two lists are aligned with difflib (the standard library's
longest-matching-blocks, no heuristics: `autojunk=False`), so an event slipped
into the middle of a command is one finding, not a shift that makes every
later event of the command differ.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from difflib import SequenceMatcher
from typing import Any
from uuid import UUID

IGNORED = frozenset({"originator_id", "originator_version", "originator_topic", "timestamp", "digest", "prev_hash"})
_NAMED_BY = ("trigger", "source", "target", "timer_id", "deadline_id", "due_date", "due_at", "child_id", "reaction", "outcome", "reason")


@dataclass(frozen=True)
class Finding:
    """One stored event the definition would not have recorded (or one it would have that the store lacks).

    `kind`: "unexpected" (stored, no counterpart), "differs" (stored, its
    counterpart has other field values), "missing" (the definition records it,
    the store has not; `version` is then the stored event it would follow), or
    "unreplayable" (the case as a whole: `version` None).
    """

    case_id: UUID
    version: int | None
    event: str
    kind: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"case": str(self.case_id), "version": self.version, "event": self.event, "kind": self.kind, "message": self.message}

    def line(self) -> str:
        where = "" if self.version is None else (f" after event {self.version}" if self.kind == "missing" else f" event {self.version}")
        return f"{self.case_id}{where} {self.event} ({self.kind}): {self.message}"


def type_name(event: Any) -> str:
    return type(event).__name__


def fields_of(event: Any) -> dict[str, Any]:
    """What an event says happened: every field but the recording ones (fields its class lacks included)."""
    return {key: value for key, value in vars(event).items() if key not in IGNORED}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, (date, UUID)):
        return str(value) if isinstance(value, UUID) else value.isoformat()
    return repr(value)


def _signature(event: Any) -> str:
    return json.dumps({"type": type_name(event), **fields_of(event)}, sort_keys=True, default=_plain)


def _shown(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=_plain)


def describe(event: Any) -> str:
    """An event in a few words: its type and the fields that name what it is about."""
    fields = fields_of(event)
    named = ", ".join(f"{key}={_shown(fields[key])}" for key in _NAMED_BY if fields.get(key) is not None)
    return f"{type_name(event)} ({named})" if named else type_name(event)


def differences(stored: Any, expected: Any) -> str:
    """Field by field, what the definition gives against what the store holds."""
    have, want = fields_of(stored), fields_of(expected)
    parts = []
    for key in sorted(set(have) | set(want)):
        if key not in want:
            parts.append(f"field {key!r} is not one a {type_name(stored)} has")
        elif key not in have:
            parts.append(f"{key}: the definition gives {_shown(want[key])}, the store has none")
        elif _shown(have[key]) != _shown(want[key]):
            parts.append(f"{key}: the definition gives {_shown(want[key])}, stored {_shown(have[key])}")
    return "; ".join(parts)


def compare(case_id: UUID, stored: list[Any], expected: list[Any], command: str = "this command") -> list[Finding]:
    """Findings for one command (`command` names it in messages): stored events without a counterpart, counterparts that differ, expected events missing."""
    matcher = SequenceMatcher(None, [_signature(e) for e in stored], [_signature(e) for e in expected], autojunk=False)
    findings = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        olds, news = list(stored[i1:i2]), list(expected[j1:j2])
        while olds and news and type(olds[0]) is type(news[0]):
            old, new = olds.pop(0), news.pop(0)
            findings.append(Finding(case_id, old.originator_version, type_name(old), "differs", differences(old, new)))
        for old in olds:
            given = ", ".join(describe(e) for e in expected) or "nothing"
            findings.append(
                Finding(
                    case_id,
                    old.originator_version,
                    type_name(old),
                    "unexpected",
                    f"the definition would not record it here; replayed, {command} records: {given}",
                )
            )
        after = stored[i2 - 1].originator_version if i2 > 0 else (stored[0].originator_version - 1 if stored else 0)
        for new in news:
            findings.append(Finding(case_id, after, type_name(new), "missing", f"the definition also records {describe(new)}"))
    return findings


__all__ = ["Finding", "compare", "describe", "differences", "fields_of", "type_name"]
