"""The timer index checked against the log it is folded from, and rebuilt from it.

The index is a projection (DESIGN principle 1): rows deleted from it are timers
that never fire and deadlines never recorded missed, with no event to say so.
`verify --index` folds the log, up to the position the stored index claims, into
a fresh in-memory index and compares the rows by case, kind and name: missing
(in the rebuilt index only), extra (stored only) and changed (due time,
workflow or detail differ).

Two rows are legitimately absent from the stored index though the log still
arms them: a reminder already sent (the scheduler drops it once its
`deadline_approaching` notification is in the outbox; no event records it) and
an item set aside in the quarantine. Both are recognised, not reported.

`rebuild_index` forgets the index (`TimerIndex.reset`: the outbox and the other
followers' positions stay), folds the whole log again, and drops the reminders
already in the outbox, so nothing already sent is sent again (notification ids
are derived from the log position or the reminder's date, and the outbox keeps
the first of each id).
"""

from __future__ import annotations

from typing import Any

from laworkflow.cases.views import DueItem, IndexCheck, IndexRow
from laworkflow.engine import Engine
from laworkflow.projections.backends.memory import MemoryDueStore
from laworkflow.projections.notifications import reminder_notification
from laworkflow.projections.quarantine import item_entry_id

Key = tuple[Any, str, str]


class _UpTo:
    """A recorder's notification log, ending at `end` (the position the stored index claims)."""

    def __init__(self, recorder: Any, end: int):
        self.recorder, self.end = recorder, end

    def select_notifications(self, start: int, limit: int, *args: Any, **kwargs: Any) -> list[Any]:
        if start > self.end:
            return []
        return [n for n in self.recorder.select_notifications(start, limit, *args, **kwargs) if n.id <= self.end]


def _key(item: DueItem) -> Key:
    return (item.case_id, item.kind, item.name)


def _same(a: DueItem, b: DueItem) -> bool:
    return (a.due_at, a.workflow, a.detail) == (b.due_at, b.workflow, b.detail)


def check_index(engine: Engine) -> IndexCheck:
    """The stored index against one folded in memory from the log up to the stored position (after an ordinary catch-up)."""
    store = engine.due_store
    store.catch_up(engine.recorder, engine.mapper)  # what every query does first: the rows then explain the whole log
    position = store.position()
    end = engine.recorder.max_notification_id() or 0
    problems = []
    if position > end:
        problems.append(f"the index claims log position {position}, beyond the end of the log ({end}): the log was cut or rolled back under it")
    rebuilt = MemoryDueStore()
    rebuilt.catch_up(_UpTo(engine.recorder, position), engine.mapper)
    stored = {_key(item): item for item in store.due()}
    expected = {_key(item): item for item in rebuilt.due()}
    sent = {n["id"] for n in store.outbox()}
    set_aside = {entry.id for entry in store.quarantined() if entry.source == "item"}

    def accounted(item: DueItem) -> bool:
        return (item.kind == "reminder" and reminder_notification(item)["id"] in sent) or item_entry_id(_key(item)) in set_aside

    missing = [IndexRow(k[0], k[1], k[2], None, item) for k, item in expected.items() if k not in stored and not accounted(item)]
    extra = [IndexRow(k[0], k[1], k[2], item, None) for k, item in stored.items() if k not in expected]
    changed = [IndexRow(k[0], k[1], k[2], item, expected[k]) for k, item in stored.items() if k in expected and not _same(item, expected[k])]
    ok = not (missing or extra or changed or problems)
    return IndexCheck(ok, position, len(stored), missing, extra, changed, problems)


def rebuild_index(engine: Engine) -> int:
    """Forget the timer index and fold it again from the whole log; returns how many rows it holds afterwards."""
    store = engine.due_store
    store.reset()
    store.catch_up(engine.recorder, engine.mapper)
    sent = {n["id"] for n in store.outbox()}
    rows = store.due()
    already = [item for item in rows if item.kind == "reminder" and reminder_notification(item)["id"] in sent]
    for item in already:
        store.done(item)  # sent before the rebuild: not to be handled (and sent) again
    return len(rows) - len(already)


__all__ = ["check_index", "rebuild_index"]
