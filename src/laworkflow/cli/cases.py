"""Commands on one case: start, fire, show, history, allowed (verify is in `cli.verify`)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from laworkflow.calendar.clock import LONDON
from laworkflow.cli.root import app
from laworkflow.cli.support import ActorOption, AtOption, JsonFlag, case_id_of, case_text, command_data, emit, engine_for, parse_params, refusals
from laworkflow.simulation import demo as demo_module


@app.command()
@refusals
def start(
    ctx: typer.Context,
    workflow: str,
    data: Annotated[str | None, typer.Option("--data", help="Start data: JSON, or @FILE.")] = None,
    version: Annotated[int | None, typer.Option(help="Definition version; default the latest.")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="Override a parameter, NAME=VALUE (repeatable).")] = None,
    actor: ActorOption = "cli",
    at: AtOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Start a case; prints it."""
    with engine_for(ctx) as engine:
        case_id = engine.start(workflow, command_data(ctx, data), version=version, actor=actor, at=at, parameters=parse_params(param or []))
        view = engine.get(case_id).to_dict()
    emit(as_json, view, case_text(view))


@app.command()
@refusals
def fire(
    ctx: typer.Context,
    case: str,
    trigger: str,
    data: Annotated[str | None, typer.Option("--data", help="Trigger data: JSON, or @FILE.")] = None,
    actor: ActorOption = "cli",
    at: AtOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Fire a trigger on a case; prints the case after it."""
    with engine_for(ctx) as engine:
        view = engine.fire(case_id_of(engine, case), trigger, command_data(ctx, data), actor=actor, at=at).to_dict()
    emit(as_json, view, case_text(view))


@app.command()
@refusals
def show(
    ctx: typer.Context,
    case: str,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Show the case as it stood then: events that took effect by then (ISO date or time).")] = None,
    known_on: Annotated[
        str | None, typer.Option("--known-on", help="Show what the record said at the end of that UK day: events recorded by then (ISO date).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """A case now, as it stood on a past date (--as-of), or as the record told it on a past day (--known-on); both combine."""
    with engine_for(ctx) as engine:
        view = engine.get(case_id_of(engine, case), as_of=as_of, known_on=known_on).to_dict()
    emit(as_json, view, case_text(view))


@app.command()
@refusals
def history(ctx: typer.Context, case: str, as_json: JsonFlag = False) -> None:
    """Every event of a case, in order, with who, when it took effect and when it was recorded (UK time)."""
    with engine_for(ctx) as engine:
        case_id = case_id_of(engine, case)
        entries = engine.history(case_id)
    rows = [e.to_dict() for e in entries]
    text = "\n".join(
        f"{e.version:>4}  {e.effective_at.astimezone(LONDON):%Y-%m-%d %H:%M}  recorded {e.recorded_at.astimezone(LONDON):%Y-%m-%d %H:%M}"
        f"  {e.actor:<24} {demo_module.describe(e)}"
        + (f"  [TAMPERED: stored with fields {e.type} does not have: {', '.join(e.unexpected_fields)}]" if e.unexpected_fields else "")
        for e in entries
    )
    emit(as_json, {"case_id": str(case_id), "events": rows}, text)


MARKS = {"passes": "✓", "fails": "✗", "depends_on_data": "?"}


def _field_text(name: str, spec: dict[str, Any]) -> str:
    parts = [spec["type"], "required" if spec["required"] else "optional"]
    if spec["choices"]:
        parts.append(f"one of {' | '.join(spec['choices'])}" if spec["type"] == "enum" else f"items from {' | '.join(spec['choices'])}")
    if spec["min_items"] is not None or spec["max_items"] is not None:
        parts.append(f"{spec['min_items'] or 0}..{'' if spec['max_items'] is None else spec['max_items']} items")
    parts += ["each item once"] * spec["unique_items"] + ["not blank"] * spec["non_empty"]
    return f"    {name}: {', '.join(parts)}" + (f" - {spec['description'].strip()}" if spec["description"].strip() else "")


def _check_text(check: dict[str, Any]) -> str:
    later = f"; passes from {check['passes_from']}" if check["passes_from"] else ""
    return f"    {MARKS[check['status']]} {check['explanation']}{later}"


def allowed_text(document: dict[str, Any]) -> str:
    """Each trigger with its overall mark, the fields it takes (with their choices) and each guard marked on the day."""
    head = f"{document['state']}: guards checked on {document['on']} (✓ passes, ✗ fails, ? decided by the data given)"
    blocks = []
    for t in document["triggers"]:
        lines = [f"{MARKS[t['status']]} {t['trigger']} -> {t['to']}"]
        lines += [_field_text(name, spec) for name, spec in t["fields"].items()] or ["    (no data)"]
        lines += [_check_text(c) for c in t["checks"]]
        blocks.append("\n".join(lines))
    return "\n".join([head, *blocks]) if blocks else f"{head}\n(none: the case has ended, or only the engine moves it on)"


@app.command()
@refusals
def allowed(
    ctx: typer.Context,
    case: str,
    at: Annotated[str | None, typer.Option("--at", help="Check the guards on this day (ISO date or time); default today.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """The triggers a case may take now: the data each takes (types, choices, bounds) and whether each guard passes today (or --at)."""
    with engine_for(ctx) as engine:
        case_id = case_id_of(engine, case)
        state = engine.get(case_id).state
        triggers = [t.to_dict() for t in engine.allowed_triggers(case_id, at=at)]
        day = engine.today(at).isoformat()
    document = {"case_id": str(case_id), "state": state, "on": day, "triggers": triggers}
    emit(as_json, document, allowed_text(document))
