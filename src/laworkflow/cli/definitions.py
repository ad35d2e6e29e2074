"""`laworkflow definitions …`: list, show, validate, diagram and schema of workflow definitions."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Annotated

import typer

from laworkflow.cli.root import app
from laworkflow.cli.support import JsonFlag, catalog_of, emit, refusals
from laworkflow.definitions.diagram import mermaid
from laworkflow.definitions.loader import load_file
from laworkflow.definitions.model import Citation, json_schema
from laworkflow.errors import DefinitionError, InvalidData
from laworkflow.pictures import state_diagram_svg

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
    """One definition in full, with its content hash; in text, each state, timer and deadline with its citation and the sentence it quotes."""
    catalog = catalog_of(ctx)
    compiled = catalog.get(workflow, version)
    document = {"content_hash": compiled.content_hash, "definition": compiled.definition.model_dump(mode="json", by_alias=True)}
    d = compiled.definition
    text = [f"{d.key}  {d.title}", f"  calendar: {d.calendar}  hash: {compiled.content_hash[:12]}", "  states:"]

    def quoted(citation: Citation) -> list[str]:
        """The words the citation points at, so a reader need not open the document."""
        quote = catalog.quotes.quote_for(d, citation)
        return (
            textwrap.wrap(f"“{quote}”", 100, initial_indent=" " * 6, subsequent_indent=" " * 7, break_on_hyphens=False, break_long_words=False) if quote else []
        )

    for name, s in d.states.items():
        text += [f"    {name}{' (terminal)' if s.terminal else ''} — {s.cites.source} {s.cites.para}", *quoted(s.cites)]
    text.append("  timers:")
    for t in d.timers:
        text += [f"    {t.id}: in {t.state}, {t.due}, fires {t.fires} — {t.cites.source} {t.cites.para}", *quoted(t.cites)]
    text.append("  deadlines:")
    for x in d.deadlines:
        text += [f"    {x.id}: {x.due} from {', '.join(x.set_by)}, met by {' or '.join(x.met_by)} — {x.cites.source} {x.cites.para}", *quoted(x.cites)]
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
def definitions_diagram(
    ctx: typer.Context,
    workflow: str,
    version: Annotated[int | None, typer.Option()] = None,
    form: Annotated[
        str | None, typer.Option("--format", help="mermaid (default), svg or png; with --out, the file's suffix decides when this is left out.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file (svg: .svg, png: .png); png without it: <workflow>-<version>-diagram.png here.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """A state diagram of a definition: Mermaid text (one arrow per pair of states, guards summarised), or an SVG or PNG picture."""
    # Imported here: importing `cli.pictures` adds its commands to the app, which the package does after ordering the help.
    from laworkflow.cli.pictures import picture_format, write_picture

    if form is None:
        form = picture_format(out) if out is not None and out.suffix.lower() in (".svg", ".png") else "mermaid"
    if form not in ("mermaid", "svg", "png"):
        raise InvalidData(f"unknown diagram format {form!r}: use mermaid, svg or png")
    if out is not None and form != "mermaid" and picture_format(out) != form:
        raise InvalidData(f"--format {form} but {str(out)!r} names a {picture_format(out)} file")
    definition = catalog_of(ctx).get(workflow, version).definition
    if form == "mermaid":
        text = mermaid(definition)
        if out is None:
            emit(as_json, {"mermaid": text}, text.rstrip("\n"))
            return
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as error:
            raise InvalidData(f"cannot write {str(out)!r}: {error.strerror or error}") from None
        emit(as_json, {"out": str(out), "format": form}, str(out))
        return
    svg = state_diagram_svg(definition)
    if form == "svg" and out is None:
        emit(as_json, {"svg": svg}, svg.rstrip("\n"))
        return
    path = out if out is not None else Path(f"{definition.id}-{definition.version}-diagram.png")
    write_picture(path, svg)
    emit(as_json, {"out": str(path), "format": form}, str(path))


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
