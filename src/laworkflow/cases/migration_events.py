"""The `Migrated` event: a running case moved from one version of its workflow onto another.

It is a `Case.Event` like any other, kept in this module so the aggregate's own
module stays the size it was. Its `change` re-pins the case — version, content
hash, parameters and (when the new version maps it) its state — so every event
before it is folded by the old definition and every one after it by the new.
The timers and deadlines the migration re-arms are recorded as ordinary
`TimerCancelled`/`TimerArmed` and `DeadlineWithdrawn`/`DeadlineSet` events in the
same command, right after it (`cases.migrating` plans them).
"""

from __future__ import annotations

from typing import Any

from laworkflow.cases.case import Case


class Migrated(Case.Event):
    """The case now runs on `to_version` (content `to_hash`); it ran on `from_version` (`from_hash`) up to here."""

    from_version: int
    from_hash: str
    to_version: int
    to_hash: str
    source_state: str
    target_state: str  # the same name, or the new version's `migrates_from` mapping of it
    parameters: dict[str, Any]  # every parameter value the case runs on from here
    reason: str

    def change(self, case: Case) -> None:
        case.definition_version = self.to_version
        case.definition_hash = self.to_hash
        case.state = self.target_state
        case.parameters = dict(self.parameters)


__all__ = ["Migrated"]
