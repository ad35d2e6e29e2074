"""`laworkflow import BUNDLE`: a complete, verified bundle restored into an empty store, identical to the log it came from.

Only a bundle that verifies (`offline`) and is complete is imported, and only
into a store with no event at all: the events are inserted in log order, with
their own notification ids and their plaintext state (encrypted and compressed
by the target store's mapper when it has a cipher or compressor: the leaves
cover the plaintext, so the tree is the same), in ONE transaction, inside which
the rows are read back and the tree's root compared with the bundle's
checkpoint; on any difference the transaction is rolled back and nothing is
written. Projections (the timer index, the register) are not in the bundle:
they rebuild from the log on the engine's next catch-up; snapshots are
conveniences, made again as cases are saved.

Why not the recorder's `insert_events`: the database numbers what it inserts,
and a PostgreSQL log can have gaps in its notification ids (a sequence value
taken by a transaction that then rolled back is never reused), so only an
insert that names each id restores the same leaves, hence the same root. The
statements are the recorders' own tables and columns (eventsourcing 9.5); the
in-memory store (tests) takes `insert_events` and then the same root check.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder

from laworkflow.audit import merkle
from laworkflow.audit.bundle import EVENTS, ImportRefused
from laworkflow.audit.leaves import LogEntry, plaintext
from laworkflow.audit.offline import Report
from laworkflow.engine import Engine


class _RootDiffers(Exception):
    """Raised inside the transaction so that it rolls back."""


def _stored(mapper: Any, originator_id: UUID | str, version: int, topic: str, state: bytes) -> StoredEvent:
    """A stored event from plaintext state, encoded as the target mapper writes (eventsourcing's order: compress, then encrypt)."""
    if getattr(mapper, "compressor", None) is not None:
        state = mapper.compressor.compress(state)
    if getattr(mapper, "cipher", None) is not None:
        state = mapper.cipher.encrypt(state)
    return StoredEvent(originator_id=originator_id, originator_version=version, topic=topic, state=state)


def _events(members: dict[str, bytes]) -> list[tuple[int, StoredEvent, bytes]]:
    rows = []
    for raw in members[EVENTS].split(b"\n"):
        if raw:
            line = json.loads(raw)
            state = base64.b64decode(line["state"])
            rows.append((line["notification_id"], StoredEvent(UUID(line["originator_id"]), line["version"], line["topic"], state), state))
    return rows


def restore(engine: Engine, members: dict[str, bytes], report: Report) -> dict[str, Any]:
    """Import the bundle's events into the engine's (empty) store; ImportRefused, with nothing written, otherwise."""
    if not report.ok:
        raise ImportRefused(f"the bundle does not verify ({len(report.problems)} problem(s): laworkflow audit verify lists them); nothing was imported")
    if not report.complete:
        raise ImportRefused(
            "the bundle is filtered (some cases of a log): only a complete bundle (export with no filter) can be imported; nothing was imported"
        )
    rows = _events(members)
    expected = bytes.fromhex(report.root)
    recorder, mapper = engine.recorder, engine.mapper
    stored = [(nid, _stored(mapper, event.originator_id, event.originator_version, event.topic, state)) for nid, event, state in rows]
    try:
        if isinstance(recorder, SQLiteApplicationRecorder):
            _into_sqlite(recorder, mapper, stored, expected)
        elif _is_postgres(recorder):
            _into_postgres(recorder, mapper, stored, expected)
        else:
            _into_other(recorder, mapper, stored, expected)
    except _RootDiffers as error:
        raise ImportRefused(f"the imported log's root differs from the bundle's checkpoint ({error}); the import was rolled back") from None
    return {"events": len(rows), "cases": report.cases, "tree_size": report.tree_size, "root": report.root}


def _refuse_if_not_empty(count: int) -> None:
    if count:
        raise ImportRefused("the store already holds events: import only into an empty store; nothing was imported")


def _check_root(mapper: Any, rows: list[tuple[int, Any, int, str, bytes]], expected: bytes) -> None:
    leaves = [LogEntry(nid, oid, version, topic, plaintext(mapper, bytes(state))).leaf() for nid, oid, version, topic, state in rows]
    root = merkle.root(leaves)
    if root != expected:
        raise _RootDiffers(f"root {root.hex()[:16]}…, expected {expected.hex()[:16]}…")


def _into_sqlite(recorder: SQLiteApplicationRecorder, mapper: Any, stored: list[tuple[int, StoredEvent]], expected: bytes) -> None:
    table = recorder.events_table_name
    with recorder.datastore.transaction(commit=True) as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        _refuse_if_not_empty(cursor.fetchone()[0])
        for nid, event in stored:
            cursor.execute(
                f"INSERT INTO {table} (rowid, originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?, ?)",
                (nid, UUID(str(event.originator_id)).hex, event.originator_version, event.topic, event.state),
            )
        cursor.execute(f"SELECT rowid, originator_id, originator_version, topic, state FROM {table} ORDER BY rowid")
        rows = [(r[0], recorder.convert_originator_id(r[1]), r[2], r[3], r[4]) for r in cursor.fetchall()]
        _check_root(mapper, rows, expected)


def _is_postgres(recorder: Any) -> bool:
    """A PostgreSQL recorder; psycopg is an optional extra, so its module is imported only when it is installed."""
    try:
        from eventsourcing.postgres import PostgresApplicationRecorder
    except ImportError:
        return False
    return isinstance(recorder, PostgresApplicationRecorder)


def _into_postgres(recorder: Any, mapper: Any, stored: list[tuple[int, StoredEvent]], expected: bytes) -> None:
    from psycopg.sql import SQL, Identifier

    schema, table = Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name)
    qualified = f"{recorder.datastore.schema}.{recorder.events_table_name}"
    with recorder.datastore.transaction(commit=True) as cursor:
        cursor.execute(SQL("LOCK TABLE {0}.{1} IN EXCLUSIVE MODE").format(schema, table))
        cursor.execute(SQL("SELECT COUNT(*) AS n FROM {0}.{1}").format(schema, table))
        found = cursor.fetchone()
        _refuse_if_not_empty(found["n"] if found else 0)
        insert = SQL("INSERT INTO {0}.{1} (originator_id, originator_version, topic, state, notification_id) VALUES (%s, %s, %s, %s, %s)").format(schema, table)
        cursor.executemany(insert, [(event.originator_id, event.originator_version, event.topic, event.state, nid) for nid, event in stored])
        if stored:  # the sequence goes on after the last id, as if the events had been written here
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), %s)", (qualified, max(nid for nid, _ in stored)))
        cursor.execute(
            SQL("SELECT notification_id, originator_id, originator_version, topic, state FROM {0}.{1} ORDER BY notification_id").format(schema, table)
        )
        rows = [(r["notification_id"], r["originator_id"], r["originator_version"], r["topic"], r["state"]) for r in cursor.fetchall()]
        _check_root(mapper, rows, expected)


def _into_other(recorder: Any, mapper: Any, stored: list[tuple[int, StoredEvent]], expected: bytes) -> None:
    """A store with no SQL (memory): the recorder numbers from 1, so a log with gaps cannot be restored there; the root is checked before."""
    _refuse_if_not_empty(recorder.max_notification_id() or 0)
    if [nid for nid, _ in stored] != list(range(1, len(stored) + 1)):
        raise ImportRefused("this store numbers events itself and the bundle's notification ids have gaps; import into SQLite or PostgreSQL")
    _check_root(mapper, [(nid, e.originator_id, e.originator_version, e.topic, e.state) for nid, e in stored], expected)
    recorder.insert_events([event for _, event in stored])


__all__ = ["restore"]
