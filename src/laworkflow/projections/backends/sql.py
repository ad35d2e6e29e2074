"""What SQLite and PostgreSQL share: the tables of the timer index, the outbox, positions and quarantine, in SQL."""

from __future__ import annotations

import json
import threading
from abc import abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from laworkflow.cases.views import DueItem, QuarantinedItem
from laworkflow.errors import NotQuarantined
from laworkflow.projections.backends.base import TRACKING, DueStore, decode, follows
from laworkflow.projections.collector import collector_paused
from laworkflow.projections.notifications import notification_for, quarantine_notification
from laworkflow.projections.quarantine import error_text, event_entry, item_entry, item_entry_id, logged, set_aside_at
from laworkflow.projections.timer_index import DueIndex, Key

# Moments as fixed-width UTC text on every backend: an entry must be writable whatever went wrong with its item.
QUARANTINE_TABLE = (
    "CREATE TABLE IF NOT EXISTS lw_quarantine (id TEXT PRIMARY KEY, source TEXT NOT NULL, case_id TEXT, kind TEXT NOT NULL, "
    "name TEXT NOT NULL, error TEXT NOT NULL, quarantined_at TEXT NOT NULL, position {position}, version INTEGER, due_at TEXT, "
    "workflow TEXT NOT NULL, detail TEXT NOT NULL)"
)
_BATCH = 10_000  # notifications read and folded per transaction: a rebuild pays few commits and round trips
_IN_CHUNK = 500  # case ids per `IN (...)` lookup of the workflows a page's events belong to


# The columns of the two tables a batch upserts, key first: (columns, key).
UPSERTED = {"lw_due": (("case_id", "kind", "name", "due_at", "workflow", "detail"), 3), "lw_cases": (("case_id", "workflow"), 1)}


def upsert(table: str, shape: tuple[tuple[str, ...], int], source: str) -> str:
    """`INSERT INTO table (columns) <source> ON CONFLICT (key) DO UPDATE` every other column: rows from VALUES or a SELECT."""
    columns, key = shape
    updates = ", ".join(f"{column} = excluded.{column}" for column in columns[key:])
    return f"INSERT INTO {table} ({', '.join(columns)}) {source} ON CONFLICT ({', '.join(columns[:key])}) DO UPDATE SET {updates}"


def _row(item: DueItem) -> tuple[str, str, str, str, str, str]:
    return (str(item.case_id), item.kind, item.name, _stamp(item.due_at), item.workflow, item.detail)


def _stamp(moment: datetime) -> str:
    """Fixed-width UTC text, so SQLite orders rows by time when it orders them as text, and reads each back.

    Written by `isoformat`, which always pads the year to four digits (strftime's %Y
    writes year 1 as "1" on glibc, which neither sorts with the others nor reads
    back) and is several times cheaper than strftime on a rebuild's every row.
    """
    return f"{moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec='microseconds')}Z"


def _item(row: Any) -> DueItem:
    case_id, kind, name, due_at, workflow, detail = row
    moment = due_at if isinstance(due_at, datetime) else datetime.fromisoformat(due_at)
    return DueItem(moment.astimezone(UTC), kind, UUID(str(case_id)), name, workflow, detail)


def _uuid_or_none(value: Any) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


def _entry(row: Any) -> QuarantinedItem:
    entry_id, source, case_id, kind, name, error, at, position, version, due_at, workflow, detail = row
    return QuarantinedItem(
        id=entry_id,
        source=source,
        case_id=_uuid_or_none(case_id) if case_id else None,
        kind=kind,
        name=name,
        error=error,
        quarantined_at=datetime.fromisoformat(at),
        position=position,
        version=version,
        due_at=datetime.fromisoformat(due_at) if due_at else None,
        workflow=workflow,
        detail=detail,
    )


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

    def _drop(self, key: Key) -> None:
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

    def _workflows(self, cursor: Any, events: list[Any], given: Mapping[UUID, str]) -> dict[UUID, str]:
        """The workflow of each case the events belong to but do not start (unless `given`), looked up a few hundred ids a query."""
        from laworkflow.cases.case import Case

        started = {e.originator_id for e in events if isinstance(e, Case.Started)}
        unstarted = {e.originator_id for e in events} - started
        found: dict[UUID, str] = {case_id: given[case_id] for case_id in unstarted & given.keys()}
        ids = list(unstarted - given.keys())
        for at in range(0, len(ids), _IN_CHUNK):
            chunk = ids[at : at + _IN_CHUNK]
            marks = ", ".join([self.placeholder] * len(chunk))
            cursor.execute(f"SELECT case_id, workflow FROM lw_cases WHERE case_id IN ({marks})", [self._id(case_id) for case_id in chunk])
            found.update((UUID(str(case_id)), workflow) for case_id, workflow in cursor.fetchall())
        return found

    def catch_up(self, recorder: Any, mapper: Any, known: Sequence[tuple[int, Any]] = (), workflows: Mapping[UUID, str] | None = None) -> int:
        with collector_paused():  # a page allocates in bulk and leaves no cycles (projections.collector)
            return self._catch_up(recorder, mapper, known, workflows)

    def _catch_up(self, recorder: Any, mapper: Any, known: Sequence[tuple[int, Any]], workflows: Mapping[UUID, str] | None) -> int:
        seen = 0
        while True:
            with self._lock, self._transaction(lock_position=True) as cursor:
                start = self._read_position(cursor, TRACKING)
                if follows(start, known):  # what the caller just saved: folded as it is, not read back (base.DueStore.catch_up)
                    set_aside: list[QuarantinedItem] = []
                    decoded, count, last, given = list(known), 0, known[-1][0], workflows or {}
                    seen, known = seen + len(known), ()
                else:
                    notifications = recorder.select_notifications(start + 1, _BATCH)
                    if not notifications:
                        return seen
                    decoded, set_aside = decode(notifications, mapper)
                    count, last, given = len(notifications), notifications[-1].id, {}
                changes = _Changes(self._workflows(cursor, [event for _, event in decoded], given))
                found: list[dict[str, Any]] = []
                for position, event in decoded:
                    entry = self._fold(changes, event, position, found)
                    if entry is not None:
                        set_aside.append(entry)
                self._write(cursor, changes)
                self._insert_quarantine(cursor, set_aside)
                self._insert_notifications(cursor, found + [quarantine_notification(e) for e in set_aside])
                self._write_position(cursor, TRACKING, last)
                seen += count
            if 0 < count < _BATCH:  # a short page: nothing more to read (after the caller's own events, one more look)
                return seen

    @staticmethod
    def _fold(changes: _Changes, event: Any, position: int | None, found: list[dict[str, Any]]) -> QuarantinedItem | None:
        """Apply one event to a batch's changes; one whose effect cannot be worked out is returned, to be set aside."""
        workflow = changes.workflows.get(event.originator_id, "?")
        try:
            payload = notification_for(event, workflow, position) if position is not None else None
            changes.fold(event)
        except Exception as error:  # any: one event must never stop the index
            return logged(event_entry(event, error, workflow, position))
        if payload:
            found.append(payload)
        return None

    def _write(self, cursor: Any, changes: _Changes) -> None:
        """Rows changed by one batch of events, sent as three statements (one round trip each on PostgreSQL)."""
        if changes.puts or changes.drops:  # an item set aside and since re-armed or closed: its entry is moot (one query; entries are rare)
            cursor.execute("SELECT id FROM lw_quarantine WHERE source = 'item'")
            entries = {row[0] for row in cursor.fetchall()}
            moot = entries and entries & {item_entry_id(key) for key in (*changes.puts, *changes.drops)}
            if moot:
                cursor.executemany(self._sql("DELETE FROM lw_quarantine WHERE id = ?"), [(entry_id,) for entry_id in moot])
        if changes.workflows:
            self._upsert(cursor, "lw_cases", [self._case_values(c, w) for c, w in changes.workflows.items()])
        if changes.drops:
            cursor.executemany(
                self._sql("DELETE FROM lw_due WHERE case_id = ? AND kind = ? AND name = ?"),
                [(self._id(case_id), kind, name) for case_id, kind, name in changes.drops],
            )
        if changes.puts:
            self._upsert(cursor, "lw_due", [self._values(item) for item in changes.puts.values()])

    def _upsert(self, cursor: Any, table: str, rows: list[tuple[Any, ...]]) -> None:
        """Insert or replace rows of `lw_due` or `lw_cases` (by their keys), in one statement sent for every row."""
        cursor.executemany(self._sql(self._upserts[table]), rows)

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
            return self._readable(cursor, cursor.fetchall())

    def first(self, before: datetime) -> DueItem | None:
        with self._lock, self._transaction() as cursor:
            while True:
                cursor.execute(
                    self._sql(
                        "SELECT case_id, kind, name, due_at, workflow, detail FROM lw_due WHERE due_at <= ? ORDER BY due_at, kind, case_id, name LIMIT 1"
                    ),
                    (self._moment(before),),
                )
                row = cursor.fetchone()
                if row is None:
                    return None
                readable = self._readable(cursor, [row])
                if readable:
                    return readable[0]

    def _readable(self, cursor: Any, rows: list[Any]) -> list[DueItem]:
        """The rows as items; a row that cannot be read back (written by an older version) is set aside, not raised."""
        items, set_aside, unreadable = [], [], []
        for row in rows:
            try:
                items.append(_item(row))
            except Exception as error:
                case_id, kind, name, due_at, workflow, detail = row
                unreadable.append((case_id, kind, name))
                set_aside.append(
                    logged(
                        QuarantinedItem(
                            id=item_entry_id((case_id, kind, name)),
                            source="item",
                            case_id=_uuid_or_none(case_id),
                            kind=str(kind),
                            name=str(name),
                            error=error_text(error),
                            quarantined_at=set_aside_at(),
                            version=1,
                            workflow=str(workflow),
                            detail=f"{detail} (stored due_at {due_at!r})",
                        )
                    )
                )
        if set_aside:
            cursor.executemany(self._sql("DELETE FROM lw_due WHERE case_id = ? AND kind = ? AND name = ?"), unreadable)
            self._insert_quarantine(cursor, set_aside)
            self._insert_notifications(cursor, [quarantine_notification(e) for e in set_aside])
        return items

    # ---------------------------------------------------------------- quarantine

    _quarantine_columns = "id, source, case_id, kind, name, error, quarantined_at, position, version, due_at, workflow, detail"

    def _insert_quarantine(self, cursor: Any, entries: list[QuarantinedItem]) -> None:
        if not entries:
            return
        cursor.executemany(
            self._sql(
                f"INSERT INTO lw_quarantine ({self._quarantine_columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET source = excluded.source, case_id = excluded.case_id, kind = excluded.kind, "
                "name = excluded.name, error = excluded.error, quarantined_at = excluded.quarantined_at, "
                "position = excluded.position, version = excluded.version, due_at = excluded.due_at, "
                "workflow = excluded.workflow, detail = excluded.detail"
            ),
            [
                (
                    e.id,
                    e.source,
                    str(e.case_id) if e.case_id else None,
                    e.kind,
                    e.name,
                    e.error,
                    _stamp(e.quarantined_at),
                    e.position,
                    e.version,
                    _stamp(e.due_at) if e.due_at else None,
                    e.workflow,
                    e.detail,
                )
                for e in entries
            ],
        )

    def quarantine_item(self, item: DueItem, error: BaseException) -> QuarantinedItem:
        entry = logged(item_entry(item, error))
        with self._lock, self._transaction() as cursor:
            cursor.execute(self._sql("DELETE FROM lw_due WHERE case_id = ? AND kind = ? AND name = ?"), (self._id(item.case_id), item.kind, item.name))
            self._insert_quarantine(cursor, [entry])
            self._insert_notifications(cursor, [quarantine_notification(entry)])
        return entry

    def quarantined(self) -> list[QuarantinedItem]:
        with self._lock, self._transaction() as cursor:
            cursor.execute(f"SELECT {self._quarantine_columns} FROM lw_quarantine ORDER BY quarantined_at, id")
            return [_entry(row) for row in cursor.fetchall()]

    def release(self, entry: QuarantinedItem, events: list[Any]) -> list[QuarantinedItem]:
        with self._lock, self._transaction(lock_position=True) as cursor:
            cursor.execute(self._sql("DELETE FROM lw_quarantine WHERE id = ?"), (entry.id,))
            if cursor.rowcount == 0:
                raise NotQuarantined(f"nothing quarantined has the id {entry.id!r}")
            if entry.source == "item" and entry.due_at is not None:
                item = DueItem(entry.due_at, entry.kind, entry.case_id, entry.name, entry.workflow, entry.detail)  # type: ignore[arg-type]
                self._upsert(cursor, "lw_due", [self._values(item)])
                return []
            changes = _Changes(self._workflows(cursor, events, {}))
            found: list[dict[str, Any]] = []
            again = [self._fold(changes, e, entry.position if e.originator_version == entry.version else None, found) for e in events]
            set_aside = [e for e in again if e is not None]
            self._write(cursor, changes)
            self._insert_quarantine(cursor, set_aside)
            self._insert_notifications(cursor, found + [quarantine_notification(e) for e in set_aside])
            return set_aside

    def done(self, item: DueItem) -> None:
        with self._lock, self._transaction() as cursor:
            cursor.execute(self._sql("DELETE FROM lw_due WHERE case_id = ? AND kind = ? AND name = ?"), (self._id(item.case_id), item.kind, item.name))

    def restore(self, item: DueItem) -> None:
        with self._lock, self._transaction() as cursor:
            self._upsert(cursor, "lw_due", [self._values(item)])

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
            cursor.execute("DELETE FROM lw_quarantine")
            cursor.execute(self._sql("UPDATE lw_tracking SET position = 0 WHERE name = ?"), (TRACKING,))

    def _moment(self, moment: datetime) -> Any:
        return _stamp(moment)

    def _insert_notifications(self, cursor: Any, notifications: list[dict[str, Any]]) -> None:
        if notifications:
            cursor.executemany(
                self._sql("INSERT INTO lw_outbox (id, payload, attempts) VALUES (?, ?, 0) ON CONFLICT (id) DO NOTHING"),
                [(payload["id"], json.dumps(payload)) for payload in notifications],
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
        "SELECT id, payload, attempts FROM lw_outbox WHERE delivered_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id LIMIT ?"
    )

    def outbox(self) -> list[dict[str, Any]]:
        with self._lock, self._transaction() as cursor:
            cursor.execute("SELECT id, payload, attempts, next_attempt_at, delivered_at, last_error FROM lw_outbox ORDER BY id")
            return [
                {"id": r[0], "payload": json.loads(r[1]), "attempts": r[2], "next_at": r[3], "delivered_at": r[4], "error": r[5]} for r in cursor.fetchall()
            ]

    # DO UPDATE: a migrated case (`Migrated`) names its new version from there on.
    _upserts = {table: upsert(table, shape, f"VALUES ({', '.join('?' * len(shape[0]))})") for table, shape in UPSERTED.items()}
    _upsert_position = "INSERT INTO lw_tracking (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position"
