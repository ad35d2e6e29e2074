"""The HTTP API: everything the CLI does, over HTTP, for back-office services and auditors.

`create_app(engine)` builds a FastAPI application around an Engine the caller
owns; nothing here is configured process-wide. `app_from_env()` is the factory
for a server (`uvicorn --factory laworkflow.api:app_from_env`): it opens the
store named by $LAWORKFLOW_STORE on the workflows in $LAWORKFLOW_WORKFLOWS and
configures logging, as the CLI does.

Every request but `/healthz`, `/readyz` and the OpenAPI document carries an
API key (`Authorization: Bearer <key>` or `X-API-Key: <key>`, see
`laworkflow.keys`): `auditor` keys read, `inspector` keys also start cases and
fire triggers, `admin` keys also manage keys. A write records the key's name as
the event's actor; a request body never says who acts.

Errors are JSON, `{"error": {"code": ..., "message": ...}}`, with the stable
`code` of the engine's error and a status by kind (`errors.STATUS`): 401/403 for
keys, 404 for an unknown case or definition, 409 when the case's state refuses
the command (trigger not allowed, guard failed, an effective time before the
case's last event, a concurrent change), 422 for data or a request that cannot
be read (`invalid_data`; FastAPI's own validation errors as `invalid_request`)
or a date outside `laworkflow.calendar.bounds` (`invalid_request` in a field of the
request, `out_of_range` when the engine refuses a date in data or one it
derives), 413 for a body over the limit. A refused request writes nothing, and
no input is a 5xx: bodies are read by a strict JSON reader (no lone surrogates,
no NaN, nesting bounded) and every message is valid UTF-8 whatever it quotes.

Request bodies are limited to `max_body_bytes` (default $LAWORKFLOW_MAX_BODY_BYTES,
else 1 MB), checked on Content-Length and on the bytes of a chunked body as
they arrive, before anything is parsed.

Concurrency: endpoints are plain `def`s, run in a thread pool, and every query
into the engine holds its lock (`Engine.lock`). The Engine's event store is safe
to share between threads, but the projections it keeps in memory (due index,
authority register, child follower) and its "reacting" flag are not: two threads
catching up at once could fold the same notification twice. Commands are not
called under the lock: each takes it while it decides and lets it go while its
events are committed, so commands on different cases arriving together share one
commit (`laworkflow.commits`), each answered after the commit that holds its
events. Several nodes scale out as separate processes (optimistic concurrency in
the store keeps them consistent). A scheduler running in the same process takes
the same lock (`engine.lock`, also `app.state.engine_lock`).
"""

from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from laworkflow.engine import Engine
from laworkflow.http.auth import Served
from laworkflow.http.bodies import BodyLimit, StrictJSONRoute, max_body_bytes_from_env
from laworkflow.http.errors import install_handlers
from laworkflow.http.routes import ROUTERS
from laworkflow.http.web import install as install_web
from laworkflow.keys import Keys

API_VERSION = "1"


def create_app(
    engine: Engine,
    *,
    close_engine: bool = False,
    ready: Callable[[], bool] | None = None,
    max_body_bytes: int | None = None,
) -> FastAPI:
    """An HTTP API over one Engine; the caller owns the engine unless `close_engine`.

    `ready` is asked by /readyz besides the store (serve passes "the scheduler thread is alive and
    healthy"): a service whose timers have stopped must not say it is ready. `max_body_bytes` limits
    request bodies (default $LAWORKFLOW_MAX_BODY_BYTES, else 1 MB).
    """
    lock = engine.lock  # what every query holds; commands take it themselves (the module's docstring)
    limit = max_body_bytes if max_body_bytes is not None else max_body_bytes_from_env()
    keys = Keys(engine)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        yield
        if close_engine:
            engine.close()

    app = FastAPI(
        title="laworkflow",
        version=API_VERSION,
        description="Event-sourced workflows for inspections of local authorities: start cases, fire triggers, read history.",
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc are served from local assets by the web view (laworkflow.http.web.docs)
        redoc_url=None,
    )
    app.router.route_class = StrictJSONRoute  # before any route is added
    app.add_middleware(BodyLimit, limit=limit)
    app.state.engine = engine
    app.state.engine_lock = lock
    app.state.keys = keys
    app.state.served = Served(engine, keys, lock, ready)  # what every route asks for (auth.served)
    install_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    install_web(app)
    return app


def app_from_env() -> FastAPI:
    """The server's factory: the store in $LAWORKFLOW_STORE, the workflows in $LAWORKFLOW_WORKFLOWS, logging from $LAWORKFLOW_LOG.

    uvicorn --factory laworkflow.api:app_from_env --host 127.0.0.1 --port 8000
    """
    import os

    from laworkflow.definitions.catalog import Catalog
    from laworkflow.logs import configure
    from laworkflow.startup import open_engine
    from laworkflow.store import STORE_ENV

    configure(None)
    engine = open_engine(Catalog.from_directory(), os.environ.get(STORE_ENV))  # creates the tables once, even with several nodes
    return create_app(engine, close_engine=True)


__all__ = ["API_VERSION", "app_from_env", "create_app"]
