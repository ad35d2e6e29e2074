"""Opening an engine on a configured store: the one step the HTTP app, the service and the CLI share.

Several processes may serve one PostgreSQL database; schema creation is
serialised by an advisory lock (concurrent `CREATE TABLE IF NOT EXISTS`
statements race in PostgreSQL's catalogue).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from laworkflow.calendar.clock import Clock
from laworkflow.definitions.catalog import Catalog
from laworkflow.engine import Engine
from laworkflow.store import connect_postgres, store_env

SCHEMA_LOCK = 0x6C77_6573  # advisory lock key held while a node creates the event tables


@contextmanager
def _schema_lock(env: dict[str, str]) -> Iterator[None]:
    if env.get("PERSISTENCE_MODULE") != "eventsourcing.postgres":
        yield
        return
    with connect_postgres(env) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            yield
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))


def open_engine(catalog: Catalog, store: str | None, *, clock: Clock | None = None) -> Engine:
    """An engine on a store, creating its tables once even when several nodes start together."""
    env = store_env(store)
    with _schema_lock(env):
        return Engine(catalog, clock=clock, env=env)


def where(engine: Engine) -> str:
    """The store an engine writes to, fit to print: built from its settings, so it never holds a password."""
    env = engine.env
    module = env.get("PERSISTENCE_MODULE") or ""
    if module.endswith("sqlite"):
        return f"sqlite:///{env.get('SQLITE_DBNAME')}"
    if module.endswith("postgres"):
        return f"postgresql://{env.get('POSTGRES_USER')}@{env.get('POSTGRES_HOST')}:{env.get('POSTGRES_PORT')}/{env.get('POSTGRES_DBNAME')}"
    return "memory:"


__all__ = ["SCHEMA_LOCK", "open_engine", "where"]
