"""The timer index: armed timers and standing deadlines, kept beside the events.

A projection of the notification log (principle 1: delete it and it is rebuilt
from the events). Its rows and its position in the log change in one
transaction, so a crash never leaves them disagreeing, and a restart reads
only the pending rows — its cost follows the pending timers, not the history.
The same table holds the positions of the engine's other followers.

Three kinds, chosen with the store: in memory (tests), SQLite (one node) and
PostgreSQL, where several nodes claim due rows with `FOR UPDATE SKIP LOCKED`
so each fires once, and where the catch-up is serialised by a row lock on the
position.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from .due_index import DueIndex
from .notify import notification_for
from .views import DueItem

TRACKING = "due-index"
_BATCH = 2000  # notifications folded per transaction: fewer round trips when rebuilding


class DueStore(ABC):
    """Where the armed timers and standing deadlines of every case are kept."""

    @abstractmethod
    def catch_up(self, recorder: Any, mapper: Any) -> int:
        """Fold in every notification recorded since the stored position; returns how many."""

    @abstractmethod
    def due(self, before: datetime | None = None) -> list[DueItem]:
        """Everything due by `before` (all when None), earliest first."""

    @abstractmethod
    def first(self, before: datetime) -> DueItem | None: ...

    @abstractmethod
    def claim(self, before: datetime, limit: int) -> Iterator[list[DueItem]]:
        """A context manager: items due by `before` that no other node is handling; released on exit."""

    @abstractmethod
    def done(self, item: DueItem) -> None:
        """The item was handled: drop it now rather than when its closing event is folded in."""

    @abstractmethod
    def restore(self, item: DueItem) -> None:
        """Put back an item a claim dropped but that could not be handled, so it is tried again."""

    @abstractmethod
    def position(self, name: str = TRACKING) -> int: ...

    @abstractmethod
    def set_position(self, name: str, position: int) -> None: ...

    @abstractmethod
    def reset(self) -> None:
        """Forget the index: the next catch-up rebuilds it from the first event (the outbox and other positions stay)."""

    # The outbox of notifications (see notify.py): filled by catch-up in the same transaction as the position.

    @abstractmethod
    def enqueue(self, notifications: list[dict[str, Any]]) -> None:
        """Add notifications; one already there (same id) is left as it is."""

    @abstractmethod
    def claim_notifications(self, now: datetime, limit: int) -> Any:
        """A context manager: undelivered notifications whose next attempt is due, as (id, payload, attempts)."""

    @abstractmethod
    def notification_delivered(self, notification_id: str, at: datetime) -> None: ...

    @abstractmethod
    def notification_failed(self, notification_id: str, attempts: int, next_at: datetime, error: str) -> None: ...

    @abstractmethod
    def outbox(self) -> list[dict[str, Any]]:
        """Every notification with its delivery state, oldest first."""

    def close(self) -> None:
        """Release connections."""


class MemoryDueStore(DueStore):
    """For a memory store and for embedders' tests: the in-memory index."""

    def __init__(self) -> None:
        self.index = DueIndex()
        self.positions: dict[str, int] = {}
        self.notifications: dict[str, dict[str, Any]] = {}

    def catch_up(self, recorder: Any, mapper: Any) -> int:
        seen = 0
        while True:
            notifications = recorder.select_notifications(self.position() + 1, _BATCH)
            for notification in notifications:
                event = mapper.to_domain_event(notification)
                self.index.apply(event)
                found = notification_for(event, self.index.workflows.get(event.originator_id, "?"), notification.id)
                if found:
                    self.enqueue([found])
                self.positions[TRACKING] = notification.id
            seen += len(notifications)
            if len(notifications) < _BATCH:
                return seen

    def due(self, before: datetime | None = None) -> list[DueItem]:
        return self.index.due(before)

    def first(self, before: datetime) -> DueItem | None:
        return self.index.first(before)

    @contextmanager
    def claim(self, before: datetime, limit: int) -> Iterator[list[DueItem]]:
        items = self.index.due(before)[:limit]
        yield items
        for item in items:
            self.done(item)

    def done(self, item: DueItem) -> None:
        self.index._drop((item.case_id, item.kind, item.name))

    def restore(self, item: DueItem) -> None:
        self.index._add(item)

    def position(self, name: str = TRACKING) -> int:
        return self.positions.get(name, 0)

    def set_position(self, name: str, position: int) -> None:
        self.positions[name] = position

    def reset(self) -> None:
        self.index, self.positions = DueIndex(), {}

    def enqueue(self, notifications: list[dict[str, Any]]) -> None:
        for payload in notifications:
            self.notifications.setdefault(
                payload["id"], {"id": payload["id"], "payload": payload, "attempts": 0, "next_at": None, "delivered_at": None, "error": None}
            )

    @contextmanager
    def claim_notifications(self, now: datetime, limit: int) -> Iterator[list[tuple[str, dict[str, Any], int]]]:
        pending = [
            (n["id"], n["payload"], n["attempts"]) for n in self.notifications.values()
            if n["delivered_at"] is None and (n["next_at"] is None or n["next_at"] <= now)
        ]
        yield pending[:limit]

    def notification_delivered(self, notification_id: str, at: datetime) -> None:
        self.notifications[notification_id].update(delivered_at=at, error=None)

    def notification_failed(self, notification_id: str, attempts: int, next_at: datetime, error: str) -> None:
        self.notifications[notification_id].update(attempts=attempts, next_at=next_at, error=error)

    def outbox(self) -> list[dict[str, Any]]:
        return [dict(n) for n in self.notifications.values()]


def _row(item: DueItem) -> tuple[str, str, str, str, str, str]:
    return (str(item.case_id), item.kind, item.name, _stamp(item.due_at), item.workflow, item.detail)


def _stamp(moment: datetime) -> str:
    """Fixed-width UTC text, so SQLite orders rows by time when it orders them as text."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _item(row: Any) -> DueItem:
    case_id, kind, name, due_at, workflow, detail = row
    moment = due_at if isinstance(due_at, datetime) else datetime.fromisoformat(due_at)
    return DueItem(moment.astimezone(timezone.utc), kind, UUID(str(case_id)), name, workflow, detail)


class _Changes(DueIndex):
    """A DueIndex whose effects are collected as row puts and drops for an SQL table."""

    def __init__(self, workflows: dict[UUID, str]):
        super().__init__()
        self.workflows = workflows
        self.puts: dict[tuple[UUID, str, str], DueItem] = {}
        self.drops: set[tuple[UUID, str, str]] = set()

    def _add(self, item: DueItem) -> None:
        key = (item.case_id, item.kind, item.name)
        self.drops.discard(key)
        self.puts[key] = item

    def _drop(self, key: tuple[UUID, str, str]) -> None:
        self.puts.pop(key, None)
        self.drops.add(key)


class SQLDueStore(DueStore):
    """Shared by SQLite and PostgreSQL: the SQL differs only in placeholders, types and locking."""

    placeholder = "?"
    schema: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._lock = threading.RLock()

    @abstractmethod
    def _connect(self) -> Any: ...

    @contextmanager
    def _transaction(self, *, lock_position: bool = False) -> Iterator[Any]:
        """One transaction; with `lock_position`, serialised against every other catch-up."""
        raise NotImplementedError

    def _sql(self, text: str) -> str:
        return text.replace("?", self.placeholder)

    def _workflows(self, cursor: Any, events: list[Any]) -> dict[UUID, str]:
        from .case import Case

        ids = {str(e.originator_id) for e in events if not isinstance(e, Case.Started)}
        found: dict[UUID, str] = {}
        for case_id in ids:
            cursor.execute(self._sql("SELECT workflow FROM lw_cases WHERE case_id = ?"), (self._id(UUID(case_id)),))
            row = cursor.fetchone()
            if row:
                found[UUID(case_id)] = row[0]
        return found

    def catch_up(self, recorder: Any, mapper: Any) -> int:
        seen = 0
        while True:
            with self._lock, self._transaction(lock_position=True) as cursor:
                start = self._read_position(cursor, TRACKING)
                notifications = recorder.select_notifications(start + 1, _BATCH)
                if not notifications:
                    return seen
                events = [mapper.to_domain_event(n) for n in notifications]
                changes = _Changes(self._workflows(cursor, events))
                found = []
                for notification, event in zip(notifications, events):
                    changes.apply(event)
                    payload = notification_for(event, changes.workflows.get(event.originator_id, "?"), notification.id)
                    if payload:
                        found.append(payload)
                self._write(cursor, changes)
                self._insert_notifications(cursor, found)
                self._write_position(cursor, TRACKING, notifications[-1].id)
                seen += len(notifications)
            if len(notifications) < _BATCH:
                return seen

    def _write(self, cursor: Any, changes: _Changes) -> None:
        """Rows changed by one batch of events, sent as three statements (one round trip each on PostgreSQL)."""
        if changes.workflows:
            cursor.executemany(self._sql(self._upsert_case), [self._case_values(c, w) for c, w in changes.workflows.items()])
        if changes.drops:
            cursor.executemany(
                self._sql("DELETE FROM lw_due WHERE case_id = ? AND kind = ? AND name = ?"),
                [(self._id(case_id), kind, name) for case_id, kind, name in changes.drops],
            )
        if changes.puts:
            cursor.executemany(self._sql(self._upsert_due), [self._values(item) for item in changes.puts.values()])

    def _values(self, item: DueItem) -> tuple[Any, ...]:
        return _row(item)

    def _id(self, case_id: UUID) -> Any:
        return str(case_id)

    def _case_values(self, case_id: UUID, workflow: str) -> tuple[Any, ...]:
        return (self._id(case_id), workflow)

    def due(self, before: datetime | None = None) -> list[DueItem]:
        with self._lock, self._transaction() as cursor:
            if before is None:
                cursor.execute("SELECT case_id, kind, name, due_at, workflow, detail FROM lw_due ORDER BY due_at, kind, case_id, name")
            else:
                cursor.execute(
                    self._sql("SELECT case_id, kind, name, due_at, workflow, detail FROM lw_due WHERE due_at <= ? ORDER BY due_at, kind, case_id, name"),
                    (self._moment(before),),
                )
            return [_item(row) for row in cursor.fetchall()]

    def first(self, before: datetime) -> DueItem | None:
        with self._lock, self._transaction() as cursor:
            cursor.execute(
                self._sql("SELECT case_id, kind, name, due_at, workflow, detail FROM lw_due WHERE due_at <= ? ORDER BY due_at, kind, case_id, name LIMIT 1"),
                (self._moment(before),),
            )
            row = cursor.fetchone()
            return _item(row) if row else None

    def done(self, item: DueItem) -> None:
        with self._lock, self._transaction() as cursor:
            cursor.execute(self._sql("DELETE FROM lw_due WHERE case_id = ? AND kind = ? AND name = ?"), (self._id(item.case_id), item.kind, item.name))

    def restore(self, item: DueItem) -> None:
        with self._lock, self._transaction() as cursor:
            cursor.execute(self._sql(self._upsert_due), self._values(item))

    def position(self, name: str = TRACKING) -> int:
        with self._lock, self._transaction() as cursor:
            return self._read_position(cursor, name)

    def set_position(self, name: str, position: int) -> None:
        with self._lock, self._transaction() as cursor:
            self._write_position(cursor, name, position)

    def _read_position(self, cursor: Any, name: str) -> int:
        cursor.execute(self._sql("SELECT position FROM lw_tracking WHERE name = ?"), (name,))
        row = cursor.fetchone()
        return int(row[0]) if row else 0

    def _write_position(self, cursor: Any, name: str, position: int) -> None:
        cursor.execute(self._sql(self._upsert_position), (name, position))

    def reset(self) -> None:
        with self._lock, self._transaction(lock_position=True) as cursor:
            cursor.execute("DELETE FROM lw_due")
            cursor.execute("DELETE FROM lw_cases")
            cursor.execute(self._sql("UPDATE lw_tracking SET position = 0 WHERE name = ?"), (TRACKING,))

    def _moment(self, moment: datetime) -> Any:
        return _stamp(moment)

    def _insert_notifications(self, cursor: Any, notifications: list[dict[str, Any]]) -> None:
        for payload in notifications:
            cursor.execute(
                self._sql("INSERT INTO lw_outbox (id, payload, attempts) VALUES (?, ?, 0) ON CONFLICT (id) DO NOTHING"),
                (payload["id"], json.dumps(payload)),
            )

    def enqueue(self, notifications: list[dict[str, Any]]) -> None:
        with self._lock, self._transaction() as cursor:
            self._insert_notifications(cursor, notifications)

    def notification_delivered(self, notification_id: str, at: datetime) -> None:
        with self._lock, self._transaction() as cursor:
            cursor.execute(self._sql("UPDATE lw_outbox SET delivered_at = ?, last_error = NULL WHERE id = ?"), (self._moment(at), notification_id))

    def notification_failed(self, notification_id: str, attempts: int, next_at: datetime, error: str) -> None:
        with self._lock, self._transaction() as cursor:
            cursor.execute(
                self._sql("UPDATE lw_outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?"),
                (attempts, self._moment(next_at), error[:500], notification_id),
            )

    _pending_sql = (
        "SELECT id, payload, attempts FROM lw_outbox WHERE delivered_at IS NULL "
        "AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id LIMIT ?"
    )

    def outbox(self) -> list[dict[str, Any]]:
        with self._lock, self._transaction() as cursor:
            cursor.execute("SELECT id, payload, attempts, next_attempt_at, delivered_at, last_error FROM lw_outbox ORDER BY id")
            return [
                {"id": r[0], "payload": json.loads(r[1]), "attempts": r[2], "next_at": r[3], "delivered_at": r[4], "error": r[5]}
                for r in cursor.fetchall()
            ]

    _upsert_case = "INSERT INTO lw_cases (case_id, workflow) VALUES (?, ?) ON CONFLICT (case_id) DO NOTHING"
    _upsert_due = (
        "INSERT INTO lw_due (case_id, kind, name, due_at, workflow, detail) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (case_id, kind, name) DO UPDATE SET due_at = excluded.due_at, workflow = excluded.workflow, detail = excluded.detail"
    )
    _upsert_position = "INSERT INTO lw_tracking (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position"


class SQLiteDueStore(SQLDueStore):
    """One node on an SQLite file: the index lives in the same file as the events."""

    schema = (
        "CREATE TABLE IF NOT EXISTS lw_due (case_id TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, "
        "due_at TEXT NOT NULL, workflow TEXT NOT NULL, detail TEXT NOT NULL, PRIMARY KEY (case_id, kind, name))",
        "CREATE INDEX IF NOT EXISTS lw_due_by_time ON lw_due (due_at)",
        "CREATE TABLE IF NOT EXISTS lw_cases (case_id TEXT PRIMARY KEY, workflow TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS lw_tracking (name TEXT PRIMARY KEY, position INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS lw_outbox (id TEXT PRIMARY KEY, payload TEXT NOT NULL, attempts INTEGER NOT NULL, "
        "next_attempt_at TEXT, delivered_at TEXT, last_error TEXT)",
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
                "SELECT case_id, kind, name, due_at, workflow, detail FROM lw_due WHERE due_at <= ? "
                "ORDER BY due_at, kind, case_id, name LIMIT ?",
                (_stamp(before), limit),
            )
            items = [_item(row) for row in cursor.fetchall()]
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


class PostgresDueStore(SQLDueStore):
    """Several nodes on one database: due rows are claimed under row locks, skipping those taken."""

    placeholder = "%s"
    schema = (
        "CREATE TABLE IF NOT EXISTS lw_due (case_id UUID NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, "
        "due_at TIMESTAMPTZ NOT NULL, workflow TEXT NOT NULL, detail TEXT NOT NULL, PRIMARY KEY (case_id, kind, name))",
        "CREATE INDEX IF NOT EXISTS lw_due_by_time ON lw_due (due_at)",
        "CREATE TABLE IF NOT EXISTS lw_cases (case_id UUID PRIMARY KEY, workflow TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS lw_tracking (name TEXT PRIMARY KEY, position BIGINT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS lw_outbox (id TEXT PRIMARY KEY, payload TEXT NOT NULL, attempts INTEGER NOT NULL, "
        "next_attempt_at TIMESTAMPTZ, delivered_at TIMESTAMPTZ, last_error TEXT)",
    )
    SCHEMA_LOCK = 0x6C77_6475  # pg_advisory_xact_lock key: one node creates the tables, the others wait

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
        import psycopg

        s = self.settings
        return psycopg.connect(
            host=s["POSTGRES_HOST"], port=s["POSTGRES_PORT"], dbname=s["POSTGRES_DBNAME"],
            user=s["POSTGRES_USER"], password=s.get("POSTGRES_PASSWORD", ""), autocommit=True,
        )

    @contextmanager
    def _transaction(self, *, lock_position: bool = False) -> Iterator[Any]:
        with self._connection.transaction(), self._connection.cursor() as cursor:
            if lock_position:
                cursor.execute("SELECT position FROM lw_tracking WHERE name = %s FOR UPDATE", (TRACKING,))
            yield cursor

    def _moment(self, moment: datetime) -> Any:
        return moment.astimezone(timezone.utc)

    def _values(self, item: DueItem) -> tuple[Any, ...]:
        return (item.case_id, item.kind, item.name, item.due_at, item.workflow, item.detail)

    def _id(self, case_id: UUID) -> Any:
        return case_id

    @contextmanager
    def claim(self, before: datetime, limit: int) -> Iterator[list[DueItem]]:
        """Rows due by `before` that no other node holds; held until the block ends, then dropped."""
        with self._lock, self._connection.transaction(), self._connection.cursor() as cursor:
            cursor.execute(
                "SELECT case_id, kind, name, due_at, workflow, detail FROM lw_due WHERE due_at <= %s "
                "ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED",
                (before.astimezone(timezone.utc), limit),
            )
            items = [_item(row) for row in cursor.fetchall()]
            yield items
            for item in items:
                cursor.execute("DELETE FROM lw_due WHERE case_id = %s AND kind = %s AND name = %s", (item.case_id, item.kind, item.name))

    @contextmanager
    def claim_notifications(self, now: datetime, limit: int) -> Iterator[list[tuple[str, dict[str, Any], int]]]:
        """Notifications no other node is sending, held until the block ends."""
        with self._lock, self._connection.transaction(), self._connection.cursor() as cursor:
            cursor.execute(self._pending_sql.replace("?", "%s") + " FOR UPDATE SKIP LOCKED", (now.astimezone(timezone.utc), limit))
            yield [(r[0], json.loads(r[1]), r[2]) for r in cursor.fetchall()]

    def close(self) -> None:
        self._connection.close()


def due_store_for(env: dict[str, str]) -> DueStore:
    """The index that goes with a store's settings (`laworkflow.store.store_env`)."""
    module = env.get("PERSISTENCE_MODULE", "eventsourcing.popo")
    if module == "eventsourcing.sqlite":
        return SQLiteDueStore(env["SQLITE_DBNAME"])
    if module == "eventsourcing.postgres":
        return PostgresDueStore(env)
    return MemoryDueStore()
