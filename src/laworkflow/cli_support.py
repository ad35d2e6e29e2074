"""What every command line module shares: the common options, refusals as one line, the engine, output.

Kept apart from `cli.py` so the sub-apps (`keys`, `risk`) import it at the top,
with no cycle through the main app that mounts them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import structlog
import typer

from .catalog import Catalog
from .clock import Clock
from .engine import Engine
from .errors import LaworkflowError
from .store import store_env
from .views import jsonable

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document (shapes in the README).")]
AtOption = Annotated[str | None, typer.Option("--at", help="When it takes effect (ISO date or time); default now.")]
ActorOption = Annotated[str, typer.Option("--actor", help="Who does it; recorded in the event.")]
F = TypeVar("F", bound=Callable[..., Any])
log = structlog.get_logger("laworkflow.cli")


@dataclass
class Settings:
    store: str | None
    workflows: Path | None


def refusals(function: F) -> F:
    """Turn any LaworkflowError into one line on stderr and exit status 1."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except LaworkflowError as error:
            log.info("command.refused", code=error.code, error=str(error))
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def catalog_of(ctx: typer.Context) -> Catalog:
    return Catalog.from_directory(ctx.obj.workflows)


@contextmanager
def engine_for(ctx: typer.Context, clock: Clock | None = None) -> Iterator[Engine]:
    engine = Engine(catalog_of(ctx), clock=clock, env=store_env(ctx.obj.store))
    try:
        yield engine
    finally:
        engine.close()


def emit(as_json: bool, document: Any, text: str) -> None:
    typer.echo(json.dumps(jsonable(document), indent=2, sort_keys=True) if as_json else text)
