"""Where events are kept, chosen by configuration alone.

A store is named by one string — a flag, or $LAWORKFLOW_STORE:
  `memory:`                          in-process, for unit tests;
  `sqlite:///path/to/file.sqlite`    or a bare file path: the embedded default;
  `postgresql://user@host:port/db`   several nodes on one database.
It becomes the environment eventsourcing reads its persistence settings from.

A store string may hold a password, so it is only ever shown through `masked`;
and a store that cannot be used (a folder, a file that is not SQLite, a
read-only or damaged database, a server that does not answer, a missing
driver) is one StoreError naming it, never a driver's traceback.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from eventsourcing.persistence import IntegrityError

from laworkflow.errors import ConcurrentChange, LaworkflowError

STORE_ENV = "LAWORKFLOW_STORE"
DEFAULT_STORE = "laworkflow.sqlite"
# eventsourcing's own setting; psycopg's pool otherwise waits 30 s for a server that is not there.
CONNECT_TIMEOUT_ENV = "POSTGRES_CONNECT_TIMEOUT"
DEFAULT_CONNECT_TIMEOUT = "5"
SQLITE_HEADER = b"SQLite format 3\x00"
MEMORY = "eventsourcing.popo"

_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^@/\s]*)@")
_KEYWORD_PASSWORD = re.compile(r"(?i)(password\s*=\s*)(\S+)")


class StoreError(LaworkflowError, ValueError):
    code = "bad_store"


def masked(store: str | None) -> str:
    """A store string fit to print: any password (`user:pw@` or `password=pw`) becomes ***."""
    if store is None:
        return "(none)"
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", store)
    return _KEYWORD_PASSWORD.sub(lambda m: f"{m[1]}***", text)


def chosen(store: str | None = None) -> str:
    """The store string in force: the argument, else $LAWORKFLOW_STORE, else ./laworkflow.sqlite."""
    return store or os.environ.get(STORE_ENV) or DEFAULT_STORE


def store_env(store: str | None = None) -> dict[str, str]:
    """eventsourcing settings for a store string (default: $LAWORKFLOW_STORE, else ./laworkflow.sqlite)."""
    store = chosen(store)
    if store in ("memory:", ":memory:"):
        return {"PERSISTENCE_MODULE": MEMORY}
    if store.startswith(("postgresql://", "postgres://")):
        return _postgres_env(store)
    path = store[len("sqlite:///") :] if store.startswith("sqlite:///") else store
    if "://" in path:
        raise StoreError(f"unknown store {masked(store)!r}; use memory:, sqlite:///FILE, a file path, or postgresql://…")
    _check_sqlite_file(path)
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(Path(path).expanduser()), "SQLITE_LOCK_TIMEOUT": "10"}


def is_persistent(store: str | None = None) -> bool:
    """True unless the store is in memory: what is written there outlives the process."""
    return store_env(store)["PERSISTENCE_MODULE"] != MEMORY


def _postgres_env(store: str) -> dict[str, str]:
    try:
        url = urlsplit(store)
        port = url.port
    except ValueError as error:
        raise StoreError(f"cannot read PostgreSQL store {masked(store)!r}: {error}") from None
    if not url.path.strip("/"):
        raise StoreError(f"PostgreSQL store {masked(store)!r} names no database; e.g. postgresql://user@127.0.0.1:5432/laworkflow")
    try:
        import eventsourcing.postgres  # noqa: F401  (needs psycopg and psycopg_pool)
    except ImportError as error:
        raise StoreError(
            f"PostgreSQL store {masked(store)!r} needs the postgres extra, which is not installed "
            f"({error.name or 'psycopg'} is missing); install it with: pip install 'laworkflow[postgres]'"
        ) from None
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": url.path.strip("/"),
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        CONNECT_TIMEOUT_ENV: os.environ.get(CONNECT_TIMEOUT_ENV) or DEFAULT_CONNECT_TIMEOUT,
    }


def _check_sqlite_file(path: str) -> None:
    """Refuse, before SQLite touches it, a path that is a folder or a file that is not an SQLite database."""
    file = Path(path).expanduser()
    parent = file.resolve().parent
    if not parent.is_dir():
        raise StoreError(f"cannot open store {path!r}: folder {str(parent)!r} does not exist")
    if file.is_dir():
        raise StoreError(f"cannot open store {path!r}: it is a folder, not an SQLite file")
    if not file.exists():
        return  # a new store is created on first use
    try:
        with file.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as error:
        raise StoreError(f"cannot open store {path!r}: {error.strerror}") from None
    if header and header != SQLITE_HEADER:
        raise StoreError(f"cannot open store {path!r}: it is not an SQLite database (the file starts with other bytes)")


def _driver_errors() -> tuple[type[BaseException], ...]:
    """The exception classes of the storage layers: eventsourcing's, SQLite's and, when installed, psycopg's."""
    from eventsourcing.persistence import InfrastructureFactoryError, PersistenceError

    found: list[type[BaseException]] = [PersistenceError, InfrastructureFactoryError, sqlite3.Error]
    try:
        import psycopg
        import psycopg_pool

        found += [psycopg.Error, psycopg_pool.PoolTimeout]
    except ImportError:
        pass
    return tuple(found)


def _reason(error: BaseException, store: str) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    password = urlsplit(store).password if "://" in store else None
    if password:
        text = text.replace(password, "***")
    text = masked(text)
    low = text.lower()
    if "readonly database" in low or "read-only" in low or "attempt to write" in low:
        return f"the store is read-only ({text}); nothing was written"
    if "malformed" in low or "not a database" in low:
        return f"the database is damaged or not an SQLite database ({text})"
    if "couldn't get a connection" in low or "connection refused" in low or "timeout" in low:
        timeout = os.environ.get(CONNECT_TIMEOUT_ENV) or DEFAULT_CONNECT_TIMEOUT
        return f"cannot connect ({text}; connect timeout {timeout} s, set ${CONNECT_TIMEOUT_ENV} to change it)"
    return text


@contextmanager
def store_errors(store: str | None) -> Iterator[None]:
    """Turn a storage layer's exception inside the block into one StoreError naming the (masked) store."""
    store = chosen(store)
    try:
        yield
    except LaworkflowError:
        raise
    except _driver_errors() as error:
        raise StoreError(f"cannot use store {masked(store)!r}: {_reason(error, store)}") from None
    except OSError as error:  # eventsourcing reports bad settings as OSError; files as OSError too
        raise StoreError(f"cannot use store {masked(store)!r}: {_reason(error, store)}") from None


def connect_postgres(env: dict[str, str]) -> Any:
    """A psycopg connection (autocommit) for our own tables beside eventsourcing's, with the same connect timeout."""
    import psycopg

    return psycopg.connect(
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        dbname=env["POSTGRES_DBNAME"],
        user=env["POSTGRES_USER"],
        password=env.get("POSTGRES_PASSWORD", ""),
        autocommit=True,
        connect_timeout=int(env.get(CONNECT_TIMEOUT_ENV) or DEFAULT_CONNECT_TIMEOUT),
    )


def latest_versions(recorder: Any, ids: list[Any]) -> dict[Any, int]:
    """The stored version of each aggregate, for many at once: one query on PostgreSQL, where other nodes write too.

    eventsourcing reads one aggregate at a time; a node about to decide a batch
    of cached cases asks here which of them another node has moved since, so only
    those are read again. Its table is eventsourcing's own (`events_table_name`
    in its schema, the columns every recorder has). Only for a PostgreSQL recorder.
    """
    from psycopg.sql import SQL, Identifier

    query = SQL("SELECT originator_id, max(originator_version) AS version FROM {}.{} WHERE originator_id = ANY(%s) GROUP BY originator_id").format(
        Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name)
    )
    with recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute(query, (ids,))
        return {row["originator_id"]: row["version"] for row in cursor.fetchall()}


# ------------------------------------------------- optimistic concurrency, in one place


RETRIES = 5
"""Attempts of a command before a concurrent change is the caller's to answer (engine, key ring, risk register)."""

T = TypeVar("T")


def save_or_conflict(save: Callable[..., Any], *aggregates: Any, says: str) -> None:
    """Save aggregates atomically; another writer saved one of them first: ConcurrentChange that `says` so."""
    try:
        save(*aggregates)
    except IntegrityError:
        raise ConcurrentChange(says) from None


def retrying(attempt: Callable[[], T], *, times: int = RETRIES, on_retry: Callable[[], None] | None = None) -> T:
    """Run `attempt` (which reloads what it changes) again while it raises ConcurrentChange, `times` in all."""
    for _ in range(times - 1):
        try:
            return attempt()
        except ConcurrentChange:
            if on_retry is not None:
                on_retry()
    return attempt()
