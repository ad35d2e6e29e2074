"""The projections' store in the SQLite file of the events: one node."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from laworkflow.cases.views import DueItem
from laworkflow.projections.backends.sql import QUARANTINE_TABLE, SQLDueStore, _stamp


class SQLiteDueStore(SQLDueStore):
    """One node on an SQLite file: the index lives in the same file as the events."""

    schema = (
        "CREATE TABLE IF NOT EXISTS lw_due (case_id TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, "
        "due_at TEXT NOT NULL, workflow TEXT NOT NULL, detail TEXT NOT NULL, PRIMARY KEY (case_id, kind, name))",
        # Claims and `due` read in (due_at, kind, case_id, name) order: with the whole order indexed, a claim of 256 rows
        # reads 256 rows, not a sort of every due row. It serves every query the due_at index served, so that goes.
        "CREATE INDEX IF NOT EXISTS lw_due_in_order ON lw_due (due_at, kind, case_id, name)",
        "DROP INDEX IF EXISTS lw_due_by_time",
        "CREATE TABLE IF NOT EXISTS lw_cases (case_id TEXT PRIMARY KEY, workflow TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS lw_tracking (name TEXT PRIMARY KEY, position INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS lw_outbox (id TEXT PRIMARY KEY, payload TEXT NOT NULL, attempts INTEGER NOT NULL, "
        "next_attempt_at TEXT, delivered_at TEXT, last_error TEXT)",
        QUARANTINE_TABLE.format(position="INTEGER"),
    )

    def __init__(self, path: str, timeout: float = 30.0):
        super().__init__()
        self.path, self.timeout = path, timeout
        self._connection = self._connect()
        with self._transaction() as cursor:
            for statement in self.schema:
                cursor.execute(statement)

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        # This connection writes only what is derived from the log (index rows, positions, the outbox). In WAL mode
        # NORMAL commits atomically without waiting for the disk; a power cut can lose its last commits, never corrupt
        # them, and what it loses is folded again from the log (the position goes back with the rows; folding, claims
        # and notifications are idempotent). The events themselves keep eventsourcing's connection and its full sync.
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection

    @contextmanager
    def _transaction(self, *, lock_position: bool = False) -> Iterator[sqlite3.Cursor]:
        cursor = self._connection.cursor()
        cursor.execute("BEGIN IMMEDIATE" if lock_position else "BEGIN")
        try:
            yield cursor
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")

    @contextmanager
    def claim(self, before: datetime, limit: int) -> Iterator[list[DueItem]]:
        """One node per SQLite file: nothing to lock against (firing is idempotent anyway); handled rows are dropped at the end."""
        with self._lock, self._transaction() as cursor:
            cursor.execute(
                "SELECT case_id, kind, name, due_at, workflow, detail FROM lw_due WHERE due_at <= ? ORDER BY due_at, kind, case_id, name LIMIT ?",
                (_stamp(before), limit),
            )
            items = self._readable(cursor, cursor.fetchall())
        yield items
        with self._lock, self._transaction() as cursor:
            cursor.executemany("DELETE FROM lw_due WHERE case_id = ? AND kind = ? AND name = ?", [(str(i.case_id), i.kind, i.name) for i in items])

    @contextmanager
    def claim_notifications(self, now: datetime, limit: int) -> Iterator[list[tuple[str, dict[str, Any], int]]]:
        with self._lock, self._transaction() as cursor:
            cursor.execute(self._pending_sql, (_stamp(now), limit))
            rows = [(r[0], json.loads(r[1]), r[2]) for r in cursor.fetchall()]
        yield rows

    def close(self) -> None:
        self._connection.close()
