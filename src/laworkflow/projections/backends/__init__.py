"""Where the projections keep their rows: the timer index, the outbox and follower positions, one module per backend."""

from laworkflow.projections.backends.base import TRACKING, DueStore, Outbox, Positions, TimerIndex
from laworkflow.projections.backends.memory import MemoryDueStore
from laworkflow.projections.backends.postgres import PostgresDueStore
from laworkflow.projections.backends.sqlite import SQLiteDueStore


def due_store_for(env: dict[str, str]) -> DueStore:
    """The index that goes with a store's settings (`laworkflow.store.store_env`)."""
    module = env.get("PERSISTENCE_MODULE", "eventsourcing.popo")
    if module == "eventsourcing.sqlite":
        return SQLiteDueStore(env["SQLITE_DBNAME"])
    if module == "eventsourcing.postgres":
        return PostgresDueStore(env)
    return MemoryDueStore()


__all__ = ["DueStore", "MemoryDueStore", "Outbox", "Positions", "PostgresDueStore", "SQLiteDueStore", "TRACKING", "TimerIndex", "due_store_for"]
