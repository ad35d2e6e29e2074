"""What every command line module shares: the common options, refusals as one line, the engine, output.

Kept apart from `cli.py` so the sub-apps (`keys`, `risk`) import it at the top,
with no cycle through the main app that mounts them.

Every way a command can fail ends as one line on stderr starting `error:` and
exit status 1: a refusal of the engine (LaworkflowError), a store that cannot
be used (StoreError, store shown masked), a usage mistake Click finds, an
argument that is not UTF-8 — and, should anything unforeseen escape, `error:
internal error: <type>: <message>`. Never a traceback: Typer's would print the
local variables of every frame, store passwords included.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, Any, TypeVar
from uuid import UUID

import typer
from typer.exceptions import Abort, TyperException

try:  # Typer vendors Click from 0.2x; older Typers use Click itself
    from typer._click.exceptions import NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover
    from click.exceptions import NoArgsIsHelpError, UsageError  # type: ignore[assignment]  # older Typers raise Click's own classes

from laworkflow.calendar.clock import Clock
from laworkflow.cases.views import jsonable
from laworkflow.definitions.catalog import Catalog
from laworkflow.engine import Engine
from laworkflow.errors import InvalidData, LaworkflowError
from laworkflow.logs import get_logger
from laworkflow.projections.case_index import resolve_case_id
from laworkflow.store import masked, store_env, store_errors

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document (shapes in the README).")]
AtOption = Annotated[str | None, typer.Option("--at", help="When it takes effect (ISO date or time); default now.")]
ActorOption = Annotated[str, typer.Option("--actor", help="Who does it; recorded in the event.")]
F = TypeVar("F", bound=Callable[..., Any])
log = get_logger("laworkflow.cli")

MAX_DATA_ENV = "LAWORKFLOW_MAX_DATA_BYTES"
DEFAULT_MAX_DATA_BYTES = 1_000_000  # command data is a form's worth of fields; a megabyte is far beyond any real one
MAX_DATA_DEPTH = 64  # nesting of objects and lists in command data; real data nests two or three deep
GUARDS_ENV = "LAWORKFLOW_GUARDS"
GUARDS_GROUP = "laworkflow.guards"
# Environment variables the CLI reads as text; like arguments, they must be UTF-8.
TEXT_ENV = ("LAWORKFLOW_STORE", "LAWORKFLOW_WORKFLOWS", "LAWORKFLOW_LOG", GUARDS_ENV, MAX_DATA_ENV)


@dataclass
class Settings:
    store: str | None
    workflows: Path | None
    max_data_bytes: int = DEFAULT_MAX_DATA_BYTES


class GuardsError(LaworkflowError):
    """A module of named guards (`--guards`, $LAWORKFLOW_GUARDS, entry points) could not be imported."""

    code = "bad_guards"


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def refusals(function: F) -> F:
    """Turn any LaworkflowError into one line on stderr and exit status 1."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except LaworkflowError as error:
            log.info("command.refused", code=error.code, error=str(error))
            typer.echo(f"error: {one_line(str(error))}", err=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _not_utf8(values: list[str]) -> int | None:
    """Index of the first value holding bytes that were not UTF-8 (Python keeps them as lone surrogates)."""
    for index, value in enumerate(values):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return index
    return None


class App(typer.Typer):
    """A Typer app whose every failure is one line on stderr (see the module docstring)."""

    def __call__(self, args: list[str] | None = None, prog_name: str | None = None, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        sys.exit(self.run_safely(argv, prog_name or "laworkflow", **extra))

    def run_safely(self, argv: list[str], prog_name: str, **extra: Any) -> int:
        try:
            bad = _not_utf8(argv)
            if bad is not None:
                raw = argv[bad].encode("utf-8", "surrogateescape")
                raise InvalidData(f"argument {bad + 1} is not UTF-8 text ({raw!r}); every argument must be UTF-8")
            names = [name for name in TEXT_ENV if name in os.environ]
            bad = _not_utf8([os.environ[name] for name in names])
            if bad is not None:
                raise InvalidData(f"${names[bad]} is not UTF-8 text; it must be UTF-8")
            result = typer.main.get_command(self).main(args=argv, prog_name=prog_name, standalone_mode=False, **extra)
            return result if isinstance(result, int) else 0
        except NoArgsIsHelpError as error:
            error.show()
            return 2
        except TyperException as error:  # usage: a bad option, a value out of its range, a missing argument
            where = f" (see {error.ctx.command_path} --help)" if isinstance(error, UsageError) and error.ctx is not None else ""
            return _fail(f"{one_line(error.format_message())}{where}")
        except Abort:
            return _fail("aborted")
        except LaworkflowError as error:
            return _fail(one_line(str(error)))
        except Exception as error:  # anything unforeseen: still one line, never the frames' variables
            log.debug("command.crashed", error=repr(error), traceback=traceback.format_exc())
            return _fail(f"internal error: {type(error).__name__}: {one_line(masked(str(error)))}")


def _fail(message: str) -> int:
    try:
        sys.stderr.write(f"error: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    return 1


def catalog_of(ctx: typer.Context) -> Catalog:
    return Catalog.from_directory(ctx.obj.workflows)


@contextmanager
def engine_for(ctx: typer.Context, clock: Clock | None = None) -> Iterator[Engine]:
    """An engine on the command's store; any failure of the store inside is one StoreError naming it (masked)."""
    store = ctx.obj.store
    catalog = catalog_of(ctx)
    with store_errors(store):
        engine = Engine(catalog, clock=clock, env=store_env(store))
    failed = False
    try:
        with store_errors(store):
            yield engine
    except BaseException:
        failed = True
        raise
    finally:
        try:
            with store_errors(store):
                engine.close()
        except LaworkflowError:
            if not failed:  # the command's own error is the one to report
                raise


def emit(as_json: bool, document: Any, text: str) -> None:
    typer.echo(json.dumps(jsonable(document), indent=2, sort_keys=True) if as_json else text)


# ----------------------------------------------------------------------- data


def read_data(raw: str | None, limit: int = DEFAULT_MAX_DATA_BYTES, what: str = "--data") -> dict[str, Any]:
    """Command data: JSON text, or @FILE holding JSON; over `limit` bytes is refused before it is parsed."""
    if raw is None:
        return {}
    if raw.startswith("@"):
        name = raw[1:]
        try:
            with open(name, "rb") as handle:
                body = handle.read(limit + 1)  # bounded even for a file that grows, or a device such as /dev/zero
        except OSError as error:
            raise InvalidData(f"cannot read data file {name!r}: {error.strerror}") from None
        if len(body) > limit:
            raise InvalidData(f"data file {name!r} is larger than {limit} bytes (set ${MAX_DATA_ENV} or --max-data-bytes to allow more)")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidData(f"data file {name!r} is not UTF-8 text (byte {body[error.start]:#04x} at offset {error.start})") from None
        what = f"data file {name!r}"
    else:
        text = raw
        if len(text.encode("utf-8", "surrogatepass")) > limit:
            raise InvalidData(f"{what} is larger than {limit} bytes (set ${MAX_DATA_ENV} or --max-data-bytes to allow more)")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidData(f"{what} is not valid JSON ({error.msg} at character {error.pos})") from None
    except RecursionError:
        raise InvalidData(f"{what} nests deeper than {MAX_DATA_DEPTH} levels") from None
    if not isinstance(value, dict):
        raise InvalidData(f"{what} must be a JSON object of field names to values, got {type(value).__name__}")
    _check_value(value, what)
    return value


def _check_value(value: Any, what: str) -> None:
    """Bounded nesting, and text that is Unicode (JSON's \\ud800 escapes make lone surrogates no store can encode)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_DATA_DEPTH:
            raise InvalidData(f"{what} nests deeper than {MAX_DATA_DEPTH} levels")
        if isinstance(item, dict):
            for key, child in item.items():
                _check_text(key, what)
                pending.append((child, depth + 1))
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            _check_text(item, what)


def _check_text(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidData(f"{what} holds a lone surrogate (\\u{ord(text[error.start]):04x}), which is not Unicode text") from None


# ---------------------------------------------------------------------- cases


def case_id_of(engine: Engine, text: str) -> UUID:
    """A full case id, or the one case whose id starts with `text` (at least 4 hex digits), as git reads a commit."""
    return resolve_case_id(text, engine.case_ids)


# --------------------------------------------------------------------- guards


def load_guards(modules: list[str]) -> list[str]:
    """Import the modules of named guards: entry points of group `laworkflow.guards`, then each named module.

    Such a module registers its guards when imported (`@laworkflow.register_guard("name")`), so
    they are known before the definitions that name them are compiled. Returns what was loaded.
    """
    loaded = []
    for point in entry_points(group=GUARDS_GROUP):
        try:
            point.load()
        except Exception as error:
            raise GuardsError(f"cannot load guards entry point {point.name!r} ({point.value}): {type(error).__name__}: {one_line(str(error))}") from None
        loaded.append(point.value)
    for name in (part.strip() for value in modules for part in value.split(",")):
        if not name:
            continue
        try:
            importlib.import_module(name)
        except Exception as error:
            raise GuardsError(f"cannot import guards module {name!r}: {type(error).__name__}: {one_line(str(error))}") from None
        loaded.append(name)
    return loaded


def command_data(ctx: typer.Context, raw: str | None) -> dict[str, Any]:
    """`--data` is JSON text, or @FILE holding JSON; no larger than --max-data-bytes."""
    return read_data(raw, ctx.obj.max_data_bytes)


def parse_params(pairs: list[str]) -> dict[str, str]:
    found = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise InvalidData(f"--param takes NAME=VALUE, got {pair!r}")
        found[name] = value
    return found


def case_text(view: dict[str, Any]) -> str:
    lines = [
        f"case {view['id']}  {view['workflow']}@{view['version']}",
        f"  state: {view['state']}{' (ended)' if view['ended'] else ''}",
    ]
    if view.get("as_of"):
        lines.append(f"  as of: {view['as_of']}")
    if view.get("known_on"):
        lines.append(f"  as recorded by the end of: {view['known_on']}")
    for name, timer in sorted(view["timers"].items()):
        lines.append(f"  timer {name}: fires {timer['trigger']} at {timer['due_at']}")
    for name, deadline in sorted(view["deadlines"].items(), key=lambda kv: kv[1]["due_date"]):
        late = deadline.get("late_by_working_days")
        extra = f" on {deadline['met_on']}" if deadline.get("met_on") else ""
        extra += f", {late} working day(s) late" if late else ""
        lines.append(f"  deadline {name}: due {deadline['due_date']} — {deadline['status']}{extra}")
    if view["parent"]:
        lines.append(f"  parent: {view['parent']}")
    for child in view["children"]:
        lines.append(f"  child: {child['id']} ({child['workflow']}, by {child['trigger']})")
    if view.get("withdrawn"):
        lines.append(f"  withdrawn on {view['withdrawn']['at'][:10]} by {view['withdrawn']['by']}: {view['withdrawn']['reason']}")
    if view.get("responsible"):
        lines.append(f"  pending work reassigned to: {view['responsible']}")
    for finding in view.get("findings", []):
        lines.append(f"  finding {finding['id']} ({finding['effective_at'][:10]}, {finding['trigger']}): {finding['message']} [{finding['cites']}]")
    return "\n".join(lines)
