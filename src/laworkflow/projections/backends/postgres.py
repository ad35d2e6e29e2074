"""The projections' store in PostgreSQL: several nodes claim due rows with `FOR UPDATE SKIP LOCKED`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from laworkflow.cases.views import DueItem
from laworkflow.projections.backends.base import TRACKING
from laworkflow.projections.backends.sql import QUARANTINE_TABLE, UPSERTED, SQLDueStore, upsert

_CLAIM_CASES = "SELECT case_id FROM lw_due WHERE due_at <= %s AND pg_try_advisory_xact_lock(%s, hashtext(case_id::text)) ORDER BY due_at LIMIT %s"
_CLAIM_ROWS_OF = (
    "SELECT case_id, kind, name, due_at, workflow, detail FROM lw_due WHERE case_id = ANY(%s) AND due_at <= %s "
    "ORDER BY array_position(%s, case_id), due_at LIMIT %s FOR UPDATE SKIP LOCKED"
)

COPY_FROM = 1_000  # rows from which an upsert streams them by COPY (`PostgresDueStore._upsert`)


class PostgresDueStore(SQLDueStore):
    """Several nodes on one database: due rows are claimed under row locks, skipping those taken."""

    placeholder = "%s"
    shared = True
    schema = (
        "CREATE TABLE IF NOT EXISTS lw_due (case_id UUID NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, "
        "due_at TIMESTAMPTZ NOT NULL, workflow TEXT NOT NULL, detail TEXT NOT NULL, PRIMARY KEY (case_id, kind, name))",
        "CREATE INDEX IF NOT EXISTS lw_due_by_time ON lw_due (due_at)",
        "CREATE TABLE IF NOT EXISTS lw_cases (case_id UUID PRIMARY KEY, workflow TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS lw_tracking (name TEXT PRIMARY KEY, position BIGINT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS lw_outbox (id TEXT PRIMARY KEY, payload TEXT NOT NULL, attempts INTEGER NOT NULL, "
        "next_attempt_at TIMESTAMPTZ, delivered_at TIMESTAMPTZ, last_error TEXT)",
        QUARANTINE_TABLE.format(position="BIGINT"),
    )
    SCHEMA_LOCK = 0x6C77_6475  # pg_advisory_xact_lock key: one node creates the tables, the others wait
    CASE_LOCK = 0x6C77_6363  # pg_try_advisory_xact_lock namespace of a claimed case (the other key: a hash of its id)

    def __init__(self, settings: dict[str, str]):
        super().__init__()
        self.settings = settings
        self._connection = self._connect()
        with self._transaction() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (self.SCHEMA_LOCK,))
            for statement in self.schema:
                cursor.execute(statement)
            cursor.execute("INSERT INTO lw_tracking (name, position) VALUES (%s, 0) ON CONFLICT (name) DO NOTHING", (TRACKING,))

    def _connect(self) -> Any:
        from laworkflow.store import connect_postgres

        return connect_postgres(self.settings)

    @contextmanager
    def _transaction(self, *, lock_position: bool = False) -> Iterator[Any]:
        with self._connection.transaction(), self._connection.cursor() as cursor:
            if lock_position:
                cursor.execute("SELECT position FROM lw_tracking WHERE name = %s FOR UPDATE", (TRACKING,))
            yield cursor

    def _moment(self, moment: datetime) -> Any:
        return moment.astimezone(UTC)

    def _values(self, item: DueItem) -> tuple[Any, ...]:
        return (item.case_id, item.kind, item.name, item.due_at, item.workflow, item.detail)

    def _id(self, case_id: UUID) -> Any:
        return case_id

    def _upsert(self, cursor: Any, table: str, rows: list[tuple[Any, ...]]) -> None:
        """Many rows (a rebuild's pages) are streamed by COPY into a temporary table and upserted from it in one statement:
        an INSERT per row, even pipelined, cost a rebuild about a third of its time. Fewer rows go as INSERTs."""
        if len(rows) < COPY_FROM:
            super()._upsert(cursor, table, rows)
            return
        columns = ", ".join(UPSERTED[table][0])
        stage = f"{table}_staged"
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} (LIKE {table}) ON COMMIT DELETE ROWS")
        with cursor.copy(f"COPY {stage} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(upsert(table, UPSERTED[table], f"SELECT {columns} FROM {stage}"))
        cursor.execute(f"TRUNCATE {stage}")  # the next batch of this transaction starts empty too

    @contextmanager
    def claim(self, before: datetime, limit: int) -> Iterator[list[DueItem]]:
        """Whole cases' due rows that no other node holds; held until the block ends, then dropped.

        Rows are looked at in due order (the `due_at` index, stopping at `limit`)
        and count only if their case's transaction-scoped advisory lock can be
        had, so a case one node claimed is skipped by the others until that
        node's claim ends; then every due row of those cases is taken, case after
        case, each in due order, up to `limit` rows, under row locks as before.
        Two nodes never decide one case at once (no conflict at the save), and a
        backlog of timers on a case is fired with one load and one save of it.
        """
        moment = before.astimezone(UTC)
        with self._lock, self._connection.transaction(), self._connection.cursor() as cursor:
            cursor.execute(_CLAIM_CASES, (moment, self.CASE_LOCK, limit))
            cases = list(dict.fromkeys(row[0] for row in cursor.fetchall()))
            items: list[DueItem] = []
            if cases:
                cursor.execute(_CLAIM_ROWS_OF, (cases, moment, cases, limit))
                items = self._readable(cursor, cursor.fetchall())
            yield items
            if items:  # one statement, pipelined by psycopg: not a round trip per row
                cursor.executemany("DELETE FROM lw_due WHERE case_id = %s AND kind = %s AND name = %s", [(i.case_id, i.kind, i.name) for i in items])

    @contextmanager
    def claim_notifications(self, now: datetime, limit: int) -> Iterator[list[tuple[str, dict[str, Any], int]]]:
        """Notifications no other node is sending, held until the block ends."""
        with self._lock, self._connection.transaction(), self._connection.cursor() as cursor:
            cursor.execute(self._pending_sql.replace("?", "%s") + " FOR UPDATE SKIP LOCKED", (now.astimezone(UTC), limit))
            yield [(r[0], json.loads(r[1]), r[2]) for r in cursor.fetchall()]

    def close(self) -> None:
        self._connection.close()
