"""`laworkflow definitions …`: list, show, validate, diagram and schema of workflow definitions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from laworkflow.cli.root import app
from laworkflow.cli.support import JsonFlag, catalog_of, emit, refusals
from laworkflow.definitions.diagram import mermaid
from laworkflow.definitions.loader import load_file
from laworkflow.definitions.model import json_schema
from laworkflow.errors import DefinitionError, InvalidData

definitions_app = typer.Typer(no_args_is_help=True, help="Workflow definitions: list, show, validate, diagram.")
app.add_typer(definitions_app, name="definitions")


@definitions_app.command("list")
@refusals
def definitions_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Every workflow and version the engine knows."""
    rows = [w.summary() for w in catalog_of(ctx)]
    emit(as_json, {"definitions": rows}, "\n".join(f"{r['id']}@{r['version']}  {r['title']}" for r in rows))


@definitions_app.command("show")
@refusals
def definitions_show(ctx: typer.Context, workflow: str, version: Annotated[int | None, typer.Option()] = None, as_json: JsonFlag = False) -> None:
    """One definition in full, with its content hash."""
    compiled = catalog_of(ctx).get(workflow, version)
    document = {"content_hash": compiled.content_hash, "definition": compiled.definition.model_dump(mode="json", by_alias=True)}
    d = compiled.definition
    text = [f"{d.key}  {d.title}", f"  calendar: {d.calendar}  hash: {compiled.content_hash[:12]}", "  states:"]
    text += [f"    {name}{' (terminal)' if s.terminal else ''} — {s.cites.source} {s.cites.para}" for name, s in d.states.items()]
    text += ["  timers:"] + [f"    {t.id}: in {t.state}, {t.due}, fires {t.fires}" for t in d.timers]
    text += ["  deadlines:"] + [f"    {x.id}: {x.due} from {', '.join(x.set_by)}, met by {' or '.join(x.met_by)}" for x in d.deadlines]
    emit(as_json, document, "\n".join(text))


@definitions_app.command("validate")
@refusals
def definitions_validate(
    ctx: typer.Context,
    files: Annotated[list[Path] | None, typer.Argument(help="Files to check; default every file in the workflows folder.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Load and check definitions; every problem in every file is reported (with --json, as {ok: false, problems})."""
    try:
        if files:
            keys, problems = [], []
            for path in files:
                try:
                    keys.append(load_file(path).key)
                except DefinitionError as error:
                    problems.extend(error.problems)
            if problems:
                raise DefinitionError(problems)
        else:
            keys = [w.key for w in catalog_of(ctx)]
    except DefinitionError as error:
        if not as_json:
            raise
        rows = [{"file": p.file, "line": p.line, "location": p.location, "message": p.message} for p in error.problems]
        emit(True, {"ok": False, "problems": rows}, "")
        raise typer.Exit(1) from None
    emit(as_json, {"ok": True, "definitions": keys}, "\n".join(f"ok  {key}" for key in keys))


@definitions_app.command("diagram")
@refusals
def definitions_diagram(ctx: typer.Context, workflow: str, version: Annotated[int | None, typer.Option()] = None, as_json: JsonFlag = False) -> None:
    """A Mermaid state diagram of a definition."""
    text = mermaid(catalog_of(ctx).get(workflow, version).definition)
    emit(as_json, {"mermaid": text}, text.rstrip("\n"))


@definitions_app.command("schema")
@refusals
def definitions_schema(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
    as_json: JsonFlag = True,
) -> None:
    """The JSON Schema of definition files, for editors (committed as workflows/schema.json); JSON with or without --json."""
    text = json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as error:
            raise InvalidData(f"cannot write {str(output)!r}: {error.strerror}") from None
