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

Defence in depth: an event whose effect on the index cannot be worked out
(e.g. a year-9999 due date stored before dates were bounded), a stored row that
cannot be read back, or a due item whose handling failed is set aside in a
quarantine table beside the index — in the same transaction as the position —
with a notification of kind `item_quarantined`, and everything else goes on.
`laworkflow quarantine list` shows them; `release` tries one again.
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


from .due_index import DueIndex, Key
from .errors import NotQuarantined
from .logs import get_logger
from .notify import notification_for, quarantine_notification
from .views import DueItem, QuarantinedItem

log = get_logger("laworkflow.due_index")

TRACKING = "due-index"
# Moments as fixed-width UTC text on every backend: an entry must be writable whatever went wrong with its item.
QUARANTINE_TABLE = (
    "CREATE TABLE IF NOT EXISTS lw_quarantine (id TEXT PRIMARY KEY, source TEXT NOT NULL, case_id TEXT, kind TEXT NOT NULL, "
    "name TEXT NOT NULL, error TEXT NOT NULL, quarantined_at TEXT NOT NULL, position {position}, version INTEGER, due_at TEXT, "
    "workflow TEXT NOT NULL, detail TEXT NOT NULL)"
)
_BATCH = 2000  # notifications folded per transaction: fewer round trips when rebuilding


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:500]


def _now() -> datetime:
    """When something was set aside: the machine's time, an operational fact (not a moment of any case)."""
    return datetime.now(timezone.utc)


def item_entry_id(key: tuple[Any, str, str]) -> str:
    case_id, kind, name = key
    return f"{kind}:{case_id}:{name}"


def event_entry(event: Any, error: BaseException, workflow: str, position: int | None) -> QuarantinedItem:
    """An event (or a stored notification that would not even decode) whose effect on the index could not be worked out."""
    name = next((getattr(event, f) for f in ("timer_id", "deadline_id") if isinstance(getattr(event, f, None), str)), "")
    kind = type(event).__name__ if not hasattr(event, "topic") else str(event.topic).rpartition(".")[2] or "event"
    return QuarantinedItem(
        id=f"event:{event.originator_id}:{event.originator_version}", source="event", case_id=UUID(str(event.originator_id)),
        kind=kind, name=name, error=_error_text(error), quarantined_at=_now(), position=position,
        version=event.originator_version, workflow=workflow,
    )


def item_entry(item: DueItem, error: BaseException) -> QuarantinedItem:
    """A due item whose handling failed."""
    return QuarantinedItem(
        id=item_entry_id((item.case_id, item.kind, item.name)), source="item", case_id=item.case_id, kind=item.kind,
        name=item.name, error=_error_text(error), quarantined_at=_now(), due_at=item.due_at, workflow=item.workflow, detail=item.detail,
    )


def _logged(entry: QuarantinedItem) -> QuarantinedItem:
    log.warning(
        "due_index.item_quarantined", id=entry.id, source=entry.source, case_id=str(entry.case_id), kind=entry.kind,
        name=entry.name, position=entry.position, error=entry.error,
    )
    return entry


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
        """Forget the index: the next catch-up rebuilds it from the first event (the outbox and other positions stay).

        The quarantine goes too: a rebuild tries every event again, and sets aside again what still fails.
        """

    # The quarantine: what the index set aside rather than stop for.

    @abstractmethod
    def quarantine_item(self, item: DueItem, error: BaseException) -> QuarantinedItem:
        """Set aside a due item whose handling failed: out of the index, recorded, notified, logged."""

    @abstractmethod
    def quarantined(self) -> list[QuarantinedItem]:
        """Everything set aside, in the order it was set aside."""

    def quarantined_entry(self, entry_id: str) -> QuarantinedItem:
        for entry in self.quarantined():
            if entry.id == entry_id:
                return entry
        raise NotQuarantined(f"nothing quarantined has the id {entry_id!r}; `laworkflow quarantine list` shows them")

    @abstractmethod
    def release(self, entry: QuarantinedItem, events: list[Any]) -> list[QuarantinedItem]:
        """Try an entry again: an item goes back into the index; an event is folded in again with the case's later `events`.

        Returns what is still set aside afterwards (the same event failing again, recorded anew).
        """

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
        self.quarantine: dict[str, QuarantinedItem] = {}

    def catch_up(self, recorder: Any, mapper: Any) -> int:
        seen = 0
        while True:
            notifications = recorder.select_notifications(self.position() + 1, _BATCH)
            for notification in notifications:
                try:
                    event = mapper.to_domain_event(notification)
                except Exception as error:  # a stored event that no longer decodes: set aside, go on
                    self._set_aside(event_entry(notification, error, "?", notification.id))
                else:
                    self._fold(event, notification.id)
                self.positions[TRACKING] = notification.id
            seen += len(notifications)
            if len(notifications) < _BATCH:
                return seen

    def _fold(self, event: Any, position: int | None) -> QuarantinedItem | None:
        """Apply one event; one whose effect cannot be worked out is set aside (and returned)."""
        workflow = self.index.workflows.get(event.originator_id, "?")
        try:
            found = notification_for(event, workflow, position) if position is not None else None
            touched = self.index.fold(event)
        except Exception as error:  # any: one event must never stop the index
            return self._set_aside(event_entry(event, error, workflow, position))
        for key in touched:  # re-armed or closed since it was set aside: the entry is moot
            entry = self.quarantine.get(item_entry_id(key))
            if entry is not None and entry.source == "item":
                del self.quarantine[entry.id]
        if found:
            self.enqueue([found])
        return None

    def _set_aside(self, entry: QuarantinedItem) -> QuarantinedItem:
        self.quarantine.pop(entry.id, None)
        self.quarantine[entry.id] = _logged(entry)
        self.enqueue([quarantine_notification(entry)])
        return entry

    def quarantine_item(self, item: DueItem, error: BaseException) -> QuarantinedItem:
        self.done(item)
        return self._set_aside(item_entry(item, error))

    def quarantined(self) -> list[QuarantinedItem]:
        return list(self.quarantine.values())

    def release(self, entry: QuarantinedItem, events: list[Any]) -> list[QuarantinedItem]:
        if self.quarantine.pop(entry.id, None) is None:
            raise NotQuarantined(f"nothing quarantined has the id {entry.id!r}")
        if entry.source == "item" and entry.due_at is not None:
            self.restore(DueItem(entry.due_at, entry.kind, entry.case_id, entry.name, entry.workflow, entry.detail))  # type: ignore[arg-type]
            return []
        again = [self._fold(event, entry.position if event.originator_version == entry.version else None) for event in events]
        return [e for e in again if e is not None]

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
        self.index, self.positions, self.quarantine = DueIndex(), {}, {}

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
    """Fixed-width UTC text, so SQLite orders rows by time when it orders them as text, and reads each back.

    The year is padded by hand: strftime's %Y writes year 1 as "1" on glibc, which
    neither sorts with the others nor reads back.
    """
    utc = moment.astimezone(timezone.utc)
    return f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S.%f}Z"


def _item(row: Any) -> DueItem:
    case_id, kind, name, due_at, workflow, detail = row
    moment = due_at if isinstance(due_at, datetime) else datetime.fromisoformat(due_at)
    return DueItem(moment.astimezone(timezone.utc), kind, UUID(str(case_id)), name, workflow, detail)


def _uuid_or_none(value: Any) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


def _entry(row: Any) -> QuarantinedItem:
    entry_id, source, case_id, kind, name, error, at, position, version, due_at, workflow, detail = row
    return QuarantinedItem(
        id=entry_id, source=source, case_id=_uuid_or_none(case_id) if case_id else None, kind=kind, name=name, error=error,
        quarantined_at=datetime.fromisoformat(at), position=position, version=version,
        due_at=datetime.fromisoformat(due_at) if due_at else None, workflow=workflow, detail=detail,
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
                decoded, set_aside = [], []
                for notification in notifications:
                    try:
                        decoded.append((notification.id, mapper.to_domain_event(notification)))
                    except Exception as error:  # a stored event that no longer decodes: set aside, go on
                        set_aside.append(event_entry(notification, error, "?", notification.id))
                changes = _Changes(self._workflows(cursor, [event for _, event in decoded]))
                found: list[dict[str, Any]] = []
                for position, event in decoded:
                    entry = self._fold(changes, event, position, found)
                    if entry is not None:
                        set_aside.append(entry)
                self._write(cursor, changes)
                self._insert_quarantine(cursor, set_aside)
                self._insert_notifications(cursor, found + [quarantine_notification(e) for e in set_aside])
                self._write_position(cursor, TRACKING, notifications[-1].id)
                seen += len(notifications)
            if len(notifications) < _BATCH:
                return seen

    @staticmethod
    def _fold(changes: _Changes, event: Any, position: int | None, found: list[dict[str, Any]]) -> QuarantinedItem | None:
        """Apply one event to a batch's changes; one whose effect cannot be worked out is returned, to be set aside."""
        workflow = changes.workflows.get(event.originator_id, "?")
        try:
            payload = notification_for(event, workflow, position) if position is not None else None
            changes.fold(event)
        except Exception as error:  # any: one event must never stop the index
            return _logged(event_entry(event, error, workflow, position))
        if payload:
            found.append(payload)
        return None

    def _write(self, cursor: Any, changes: _Changes) -> None:
        """Rows changed by one batch of events, sent as three statements (one round trip each on PostgreSQL)."""
        touched = set(changes.puts) | changes.drops
        if touched:  # an item set aside and since re-armed or closed: its entry is moot (one query; entries are rare)
            cursor.execute("SELECT id FROM lw_quarantine WHERE source = 'item'")
            moot = {row[0] for row in cursor.fetchall()} & {item_entry_id(key) for key in touched}
            if moot:
                cursor.executemany(self._sql("DELETE FROM lw_quarantine WHERE id = ?"), [(entry_id,) for entry_id in moot])
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
            return self._readable(cursor, cursor.fetchall())

    def first(self, before: datetime) -> DueItem | None:
        with self._lock, self._transaction() as cursor:
            while True:
                cursor.execute(
                    self._sql("SELECT case_id, kind, name, due_at, workflow, detail FROM lw_due WHERE due_at <= ? ORDER BY due_at, kind, case_id, name LIMIT 1"),
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
                set_aside.append(_logged(QuarantinedItem(
                    id=item_entry_id((case_id, kind, name)), source="item", case_id=_uuid_or_none(case_id), kind=str(kind),
                    name=str(name), error=_error_text(error), quarantined_at=_now(), version=1, workflow=str(workflow),
                    detail=f"{detail} (stored due_at {due_at!r})",
                )))
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
                    e.id, e.source, str(e.case_id) if e.case_id else None, e.kind, e.name, e.error, _stamp(e.quarantined_at),
                    e.position, e.version, _stamp(e.due_at) if e.due_at else None, e.workflow, e.detail,
                )
                for e in entries
            ],
        )

    def quarantine_item(self, item: DueItem, error: BaseException) -> QuarantinedItem:
        entry = _logged(item_entry(item, error))
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
                cursor.execute(self._sql(self._upsert_due), self._values(item))
                return []
            changes = _Changes(self._workflows(cursor, events))
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
            cursor.execute("DELETE FROM lw_quarantine")
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
        QUARANTINE_TABLE.format(position="BIGINT"),
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
        from .store import connect_postgres

        return connect_postgres(self.settings)

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
            items = self._readable(cursor, cursor.fetchall())
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
