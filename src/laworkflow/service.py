"""`laworkflow serve`: one long-running process with the scheduler and the HTTP API.

Several processes may serve one PostgreSQL database: each claims due rows under
row locks, and schema creation is serialised by an advisory lock (concurrent
`CREATE TABLE IF NOT EXISTS` statements race in PostgreSQL's catalogue). On
SQLite, run one process per file.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from collections.abc import Iterator
from typing import Any

import structlog

from .catalog import Catalog
from .clock import Clock
from .engine import Engine
from .notify import LogSink, WebhookSink
from .scheduler import Scheduler
from .store import store_env

log = structlog.get_logger("laworkflow.service")
SCHEMA_LOCK = 0x6C77_6573  # advisory lock key held while a node creates the event tables


@contextmanager
def _schema_lock(env: dict[str, str]) -> Iterator[None]:
    if env.get("PERSISTENCE_MODULE") != "eventsourcing.postgres":
        yield
        return
    import psycopg

    with psycopg.connect(
        host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"], dbname=env["POSTGRES_DBNAME"],
        user=env["POSTGRES_USER"], password=env.get("POSTGRES_PASSWORD", ""), autocommit=True,
    ) as connection:
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


def serve(
    engine: Engine, *, host: str, port: int, http: bool = True, poll_seconds: float = 5.0, webhooks: list[str] | None = None
) -> int:
    """Run until SIGTERM or SIGINT; returns how many due items were handled."""
    lock = threading.RLock()
    sinks = [LogSink(), *(WebhookSink(url) for url in webhooks or [])]
    scheduler = Scheduler(engine, lock, poll_seconds=poll_seconds, sinks=sinks)
    log.info("service.starting", host=host, port=port, http=http)
    if http:
        import uvicorn

        from .api import create_app

        server = uvicorn.Server(uvicorn.Config(create_app(engine, lock=lock), host=host, port=port, log_config=None, lifespan="on"))
        thread = scheduler.start_in_thread()
        try:
            server.run()  # uvicorn stops cleanly on SIGTERM and SIGINT
        finally:
            scheduler.stop()
            thread.join(timeout=30)
    else:
        def stop(signum: int, frame: Any) -> None:
            scheduler.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        scheduler.run()
    log.info("service.stopped", handled=scheduler.fired)
    return scheduler.fired
