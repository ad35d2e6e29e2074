"""Where events are kept, chosen by configuration alone.

A store is named by one string — a flag, or $LAWORKFLOW_STORE:
  `memory:`                          in-process, for unit tests;
  `sqlite:///path/to/file.sqlite`    or a bare file path: the embedded default;
  `postgresql://user@host:port/db`   several nodes on one database.
It becomes the environment eventsourcing reads its persistence settings from.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from .errors import LaworkflowError

STORE_ENV = "LAWORKFLOW_STORE"
DEFAULT_STORE = "laworkflow.sqlite"


class StoreError(LaworkflowError, ValueError):
    code = "bad_store"


def store_env(store: str | None = None) -> dict[str, str]:
    """eventsourcing settings for a store string (default: $LAWORKFLOW_STORE, else ./laworkflow.sqlite)."""
    store = store or os.environ.get(STORE_ENV) or DEFAULT_STORE
    if store in ("memory:", ":memory:"):
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if store.startswith(("postgresql://", "postgres://")):
        url = urlparse(store)
        if not url.path.strip("/"):
            raise StoreError(f"PostgreSQL store {store!r} names no database; e.g. postgresql://user@127.0.0.1:5432/laworkflow")
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": url.path.strip("/"),
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
        }
    path = store[len("sqlite:///"):] if store.startswith("sqlite:///") else store
    if "://" in path:
        raise StoreError(f"unknown store {store!r}; use memory:, sqlite:///FILE, a file path, or postgresql://…")
    parent = Path(path).expanduser().resolve().parent
    if not parent.is_dir():
        raise StoreError(f"cannot open store {path!r}: folder {str(parent)!r} does not exist")
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(Path(path).expanduser()), "SQLITE_LOCK_TIMEOUT": "10"}
