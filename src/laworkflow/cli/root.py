"""The `laworkflow` command line: the app, its global options, and what every command shares.

Every command takes `--json` and then prints one JSON document of a stable,
documented shape (README, "CLI output"). A refused command prints one readable
line on stderr, exits 1 and writes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from laworkflow.cli.support import DEFAULT_MAX_DATA_BYTES, GUARDS_ENV, MAX_DATA_ENV, App, Settings, load_guards
from laworkflow.definitions.catalog import WORKFLOWS_ENV
from laworkflow.errors import LaworkflowError
from laworkflow.logs import LOG_ENV, configure
from laworkflow.store import STORE_ENV

# pretty_exceptions off: Typer's rich tracebacks print every frame's local variables, store passwords included.
app = App(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, help="Event-sourced workflows for inspections of local authorities.")


@app.callback()
def main(
    ctx: typer.Context,
    store: Annotated[
        str | None,
        typer.Option("--store", envvar=STORE_ENV, help="memory:, an SQLite file path or sqlite:///FILE, or postgresql://… (default ./laworkflow.sqlite)."),
    ] = None,
    workflows: Annotated[Path | None, typer.Option("--workflows", envvar=WORKFLOWS_ENV, help="Folder of workflow YAML files (default ./workflows).")] = None,
    log_level: Annotated[str | None, typer.Option("--log-level", envvar=LOG_ENV, help="debug, info, warning (default), error.")] = None,
    guards: Annotated[
        list[str] | None,
        typer.Option(
            "--guards",
            envvar=GUARDS_ENV,
            help="Import this module of named guards (laworkflow.register_guard) before loading definitions; repeatable, or comma-separated in $LAWORKFLOW_GUARDS. Entry points of group laworkflow.guards are always loaded.",
        ),
    ] = None,
    max_data_bytes: Annotated[
        int, typer.Option("--max-data-bytes", envvar=MAX_DATA_ENV, min=1, help="Largest --data (text or @FILE) accepted, in bytes.")
    ] = DEFAULT_MAX_DATA_BYTES,
) -> None:
    configure(log_level)
    try:
        load_guards(guards or [])
    except LaworkflowError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    ctx.obj = Settings(store, workflows, max_data_bytes)


__all__ = ["app", "main"]
