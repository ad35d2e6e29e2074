"""`laworkflow serve`: the scheduler and the HTTP API in one long-running process."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from laworkflow.cli.root import app
from laworkflow.cli.support import catalog_of, refusals
from laworkflow.logs import get_logger
from laworkflow.service.collector import DEFAULT_THRESHOLD, settle
from laworkflow.store import chosen, masked, store_errors

log = get_logger("laworkflow.cli")


@app.command()
@refusals
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address the HTTP API listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port of the HTTP API.")] = 8000,
    http: Annotated[bool, typer.Option("--http/--no-http", help="Serve the HTTP API beside the scheduler.")] = True,
    poll: Annotated[float, typer.Option("--poll", min=0.05, help="Seconds between looks at the index for work others armed.")] = 5.0,
    webhook: Annotated[
        list[str] | None, typer.Option("--webhook", help="POST every notification (timer fired, deadline missed or approaching) here as JSON; repeatable.")
    ] = None,
    checkpoint_every: Annotated[
        float,
        typer.Option(
            "--checkpoint-every",
            envvar="LAWORKFLOW_CHECKPOINT_EVERY",
            min=0.1,
            help="Seconds between signed checkpoints (with $LAWORKFLOW_CHECKPOINT_KEY set); one is also recorded at start and at a clean stop.",
        ),
    ] = 3600.0,
    checkpoint_dir: Annotated[
        Path,
        typer.Option(
            "--checkpoint-dir",
            envvar="LAWORKFLOW_CHECKPOINT_DIR",
            help="Folder the signed checkpoints are written to (created if missing); keep copies elsewhere.",
        ),
    ] = Path("checkpoints"),
    gc_threshold: Annotated[
        int,
        typer.Option(
            "--gc-threshold",
            envvar="LAWORKFLOW_GC_THRESHOLD",
            min=0,
            help="Allocations between the garbage collector's young collections (Python's default: 700; 0 turns it off). What start-up built is frozen out of collections.",
        ),
    ] = DEFAULT_THRESHOLD,
) -> None:
    """The service: fire timers and record missed deadlines as they fall due, and serve the HTTP API, until SIGTERM/SIGINT."""
    from laworkflow.service.checkpoints import CheckpointSettings
    from laworkflow.service.process import serve as run_service
    from laworkflow.startup import open_engine

    catalog = catalog_of(ctx)
    log.info("service.opening", store=masked(chosen(ctx.obj.store)))
    with store_errors(ctx.obj.store):
        engine = open_engine(catalog, ctx.obj.store)
    settle(gc_threshold)  # the process is the service's from here on (service.collector)
    try:
        run_service(
            engine, host=host, port=port, http=http, poll_seconds=poll, webhooks=webhook or [], checkpoints=CheckpointSettings(checkpoint_dir, checkpoint_every)
        )
    finally:
        engine.close()
