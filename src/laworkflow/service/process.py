"""`laworkflow serve`: one long-running process with the scheduler and the HTTP API.

Several processes may serve one PostgreSQL database: each claims due rows under
row locks, and schema creation is serialised by an advisory lock (concurrent
`CREATE TABLE IF NOT EXISTS` statements race in PostgreSQL's catalogue). On
SQLite, run one process per file.

SIGTERM and SIGINT stop it in order, HTTP or not: the HTTP server finishes
what it is answering, the scheduler stops, `service.stopped` is logged and
`serve` returns (the CLI then closes the engine and exits 0). /readyz answers
503 once the scheduler thread has died or reports itself unhealthy.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from laworkflow.engine import Engine
from laworkflow.logs import get_logger
from laworkflow.service.checkpoints import CheckpointSettings, keeper_for
from laworkflow.service.notify import LogSink, WebhookSink
from laworkflow.service.scheduler import Scheduler
from laworkflow.startup import where

log = get_logger("laworkflow.service")


def readiness(scheduler: Scheduler, thread: threading.Thread) -> Callable[[], bool]:
    """What /readyz asks besides the store: the scheduler's thread is alive and its last pass went through."""
    return lambda: thread.is_alive() and scheduler.healthy()


def serve(
    engine: Engine,
    *,
    host: str,
    port: int,
    http: bool = True,
    poll_seconds: float = 5.0,
    webhooks: list[str] | None = None,
    checkpoints: CheckpointSettings | None = None,
) -> int:
    """Run until SIGTERM or SIGINT, then stop in order; returns how many due items were handled.

    With $LAWORKFLOW_CHECKPOINT_KEY set, signed checkpoints are recorded at start, every
    `checkpoints.every` seconds and after the scheduler stops (`service.checkpoints`).
    The caller owns the engine and closes it after this returns.
    """
    sinks = [LogSink(), *(WebhookSink(url) for url in webhooks or [])]
    scheduler = Scheduler(engine, poll_seconds=poll_seconds, sinks=sinks)  # on the engine's lock, which the HTTP API's queries hold too
    log.info("service.starting", host=host, port=port, http=http)
    keeper = keeper_for(engine, checkpoints or CheckpointSettings())
    if keeper is not None:
        keeper.start_in_thread()
    try:
        if http:
            _serve_http(engine, scheduler, host=host, port=port)
        else:

            def stop(signum: int, frame: Any) -> None:
                scheduler.stop()

            with _signals(stop):
                print(f"laworkflow scheduling without HTTP (store: {where(engine)})", file=sys.stderr, flush=True)
                scheduler.run()
    finally:
        if keeper is not None:
            keeper.stop()  # the last checkpoint, over everything the scheduler recorded
    log.info("service.stopped", handled=scheduler.fired)
    return scheduler.fired


def _serve_http(engine: Engine, scheduler: Scheduler, *, host: str, port: int) -> None:
    import uvicorn

    from laworkflow.http.app import create_app

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:  # bound and listening: say where, whatever the log level
                bound = [sock.getsockname()[1] for server in self.servers for sock in server.sockets]
                name = f"[{host}]" if ":" in host else host
                print(f"laworkflow serving on http://{name}:{bound[0] if bound else port} (store: {where(engine)})", file=sys.stderr, flush=True)

    thread = scheduler.start_in_thread()
    try:
        app = create_app(engine, ready=readiness(scheduler, thread))
        server = Server(uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="on"))

        def stop(signum: int, frame: Any) -> None:
            server.should_exit = True  # a signal before uvicorn took over its handlers
            scheduler.stop()

        # uvicorn (0.29 and later) catches SIGTERM/SIGINT while it runs, shuts down gracefully, then puts the
        # handlers it found back and raises the signal again, so that the process dies "as if" by the signal:
        # with the default handlers that was exit 143 (SIGTERM) or a KeyboardInterrupt (SIGINT), before the
        # scheduler stopped or the engine closed. The handlers it finds are ours, so the signal raised again
        # lands in `stop`, and serve goes on to stop in order.
        with _signals(stop):
            server.run()
    finally:
        scheduler.stop()
        thread.join(timeout=30)


@contextmanager
def _signals(handler: Callable[[int, Any], None]) -> Iterator[None]:
    """SIGTERM and SIGINT go to `handler` inside the block; the handlers before it are put back after.

    Only the main thread can set handlers; elsewhere (serve embedded in a thread) the caller owns stopping.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, handler) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
