"""Snapshots: never read back; any still stored are checked against the events and can be deleted.

eventsourcing keeps snapshots in their own table, outside the notification log
and so outside the audit tree: an edited or inserted snapshot row changes no
checkpoint. While the engine read them, a forged snapshot was what `show` and
`fire` acted on (and, for the key ring, what authentication trusted) while
`show --as-of`, folded from the events, showed the original.

Verifying a snapshot on load was the alternative. A snapshot claims a version
and carries the case's `head_hash`, which can be matched against the stored
digest of event `version` with one read; but its other fields (state, data,
timers, deadlines) cannot be checked without folding the events, which is the
very work a snapshot saves. So the engine takes no snapshots and reads none
(`Engine.__init__` detaches the snapshot store from the repository), and this
module checks the rows a store written before still holds.

Measured on SQLite (a case of N events, a fresh engine so the aggregate cache
misses, median of 15 loads, 2-core machine):

| events | from its snapshot | from its events |
|---:|---:|---:|
| 50 | 0.25 ms | 1.3 ms |
| 200 | 0.24 ms | 5.1 ms |
| 500 | 0.25 ms | 12.1 ms |

About 25 µs an event. A case has tens of events, and the engine's aggregate
cache (10,000 cases, fast-forwarded from the store) means a case is folded in
full only on its first load in a process, so the saving was a millisecond per
case per process start.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from eventsourcing.domain import Snapshot
from eventsourcing.utils import resolve_topic

from laworkflow.cases.views import SnapshotCheck
from laworkflow.engine import Engine
from laworkflow.projections.follower import pages


def _recorder(engine: Engine) -> Any:
    """The store's snapshot recorder, or None when the store has no snapshot table (none is created to find out)."""
    if engine.snapshots is not None:
        return engine.snapshots.recorder
    module = engine.env.get("PERSISTENCE_MODULE") or ""
    datastore = getattr(engine.factory, "datastore", None)
    if datastore is None:
        return None
    if module == "eventsourcing.sqlite":
        query, table = "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", "stored_snapshots"
    elif module == "eventsourcing.postgres":
        query, table = "SELECT to_regclass(%s)", f"{datastore.schema}.{engine.name.lower()}_snapshots"
    else:
        return None
    with datastore.transaction(commit=False) as cursor:
        cursor.execute(query, (table,))
        row = cursor.fetchone()
    found = row is not None and (row[0] if not isinstance(row, dict) else next(iter(row.values()))) is not None
    return engine.factory.aggregate_recorder(purpose="snapshots") if found else None


def _originators(engine: Engine) -> Iterator[UUID]:
    """Every aggregate in the log, once, in the order it first appears."""
    seen: set[UUID] = set()
    for page in pages(engine.recorder, 0):
        for notification in page:
            originator = UUID(str(notification.originator_id))
            if originator not in seen:
                seen.add(originator)
                yield originator


def _compare(engine: Engine, snapshot: Any) -> list[str]:
    """What is wrong with one decoded snapshot, judged by folding the aggregate's events up to its version."""
    version = snapshot.originator_version
    aggregate: Any = None
    folded = 0
    event: Any
    for event in engine.events.get(snapshot.originator_id, lte=version):
        aggregate = event.mutate(aggregate)
        folded += 1
    if aggregate is None or folded < version:
        return [f"claims version {version}, but the log holds {folded} events of {snapshot.originator_id} up to it"]
    try:
        snapshot_class = resolve_topic(snapshot.topic)
    except Exception:
        return [f"names a class that does not exist ({snapshot.topic})"]
    if snapshot_class is not type(aggregate):
        return [f"is of a {getattr(snapshot_class, '__name__', snapshot.topic)}, the events make a {type(aggregate).__name__}"]
    taken: Any = engine.mapper.to_domain_event(engine.mapper.to_stored_event(Snapshot.take(aggregate)))  # the same encoding round trip
    expected = taken.state
    problems = []
    for name, value in snapshot.state.items():
        if name not in expected:
            problems.append(f"has a field the aggregate does not have: {name}")
        elif value != expected[name]:
            problems.append(f"disagrees with the events on {name}")
    # A field missing from the snapshot only means it was taken before the class gained it: not a finding.
    return problems


def check_snapshots(engine: Engine, *, only: UUID | None = None) -> list[SnapshotCheck]:
    """Every stored snapshot of an aggregate in the log (or of `only`) that disagrees with its events."""
    recorder = _recorder(engine)
    if recorder is None:
        return []
    found = []
    for originator in [only] if only is not None else _originators(engine):
        for stored in recorder.select_events(originator):
            try:
                snapshot: Any = engine.mapper.to_domain_event(stored)
                problems = _compare(engine, snapshot)
                topic = str(snapshot.topic)
            except Exception as error:  # a snapshot that cannot even be read is as much a finding
                problems, topic = [f"cannot be read ({type(error).__name__})"], stored.topic
            if problems:
                found.append(
                    SnapshotCheck(
                        originator, stored.originator_version, topic, False, [f"snapshot at version {stored.originator_version} {p}" for p in problems]
                    )
                )
    return found


def delete_snapshot(engine: Engine, check: SnapshotCheck) -> None:
    """Delete one snapshot row (the engine never reads it; deleting leaves nothing to mislead a later reader)."""
    module = engine.env.get("PERSISTENCE_MODULE") or ""
    recorder = _recorder(engine)
    if recorder is None or module not in ("eventsourcing.sqlite", "eventsourcing.postgres"):
        return  # a memory store's snapshots go with the process
    table = recorder.events_table_name
    with recorder.datastore.transaction(commit=True) as cursor:
        if module == "eventsourcing.postgres":
            from psycopg.sql import SQL, Identifier

            statement = SQL("DELETE FROM {}.{} WHERE originator_id = %s AND originator_version = %s").format(
                Identifier(recorder.datastore.schema), Identifier(table)
            )
            cursor.execute(statement, (check.originator_id, check.version))
        else:
            cursor.execute(f"DELETE FROM {table} WHERE originator_id = ? AND originator_version = ?", (check.originator_id.hex, check.version))


__all__ = ["check_snapshots", "delete_snapshot"]
