"""The `laworkflow` command line.

Every command takes `--json` and then prints one JSON document of a stable,
documented shape (README, "CLI output"). A refused command prints one readable
line on stderr, exits 1 and writes nothing.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated, Any

import structlog
import typer

from . import demo as demo_module
from .catalog import WORKFLOWS_ENV
from .cli_support import ActorOption, AtOption, JsonFlag, Settings, catalog_of, emit, engine_for, refusals
from .clock import LONDON, SimulatedClock, aware
from .definition import json_schema
from .diagram import mermaid
from .errors import DefinitionError, InvalidData
from .loader import load_file
from .logs import LOG_ENV, configure
from .store import STORE_ENV

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Event-sourced workflows for inspections of local authorities.")
definitions_app = typer.Typer(no_args_is_help=True, help="Workflow definitions: list, show, validate, diagram.")
app.add_typer(definitions_app, name="definitions")

FOREVER = datetime(9000, 1, 1, tzinfo=timezone.utc)
MAX_SIMULATED = 1_000_000  # bounds `simulate --all` should a workflow re-arm timers for ever
log = structlog.get_logger("laworkflow.cli")


@app.callback()
def main(
    ctx: typer.Context,
    store: Annotated[str | None, typer.Option("--store", envvar=STORE_ENV, help="memory:, an SQLite file path or sqlite:///FILE, or postgresql://… (default ./laworkflow.sqlite).")] = None,
    workflows: Annotated[Path | None, typer.Option("--workflows", envvar=WORKFLOWS_ENV, help="Folder of workflow YAML files (default ./workflows).")] = None,
    log_level: Annotated[str | None, typer.Option("--log-level", envvar=LOG_ENV, help="debug, info, warning (default), error.")] = None,
) -> None:
    configure(log_level)
    ctx.obj = Settings(store, workflows)


def _data(raw: str | None) -> dict[str, Any]:
    """`--data` is JSON text, or @FILE holding JSON."""
    if raw is None:
        return {}
    if raw.startswith("@"):
        try:
            raw = Path(raw[1:]).read_text(encoding="utf-8")
        except OSError as error:
            raise InvalidData(f"cannot read data file {raw[1:]!r}: {error.strerror}") from None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise InvalidData(f"--data is not valid JSON ({error.msg} at character {error.pos})") from None
    if not isinstance(value, dict):
        raise InvalidData(f"--data must be a JSON object of field names to values, got {type(value).__name__}")
    return value


def _params(pairs: list[str]) -> dict[str, str]:
    found = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise InvalidData(f"--param takes NAME=VALUE, got {pair!r}")
        found[name] = value
    return found


def _case_text(view: dict[str, Any]) -> str:
    lines = [
        f"case {view['id']}  {view['workflow']}@{view['version']}",
        f"  state: {view['state']}{' (ended)' if view['ended'] else ''}",
    ]
    if view.get("as_of"):
        lines.append(f"  as of: {view['as_of']}")
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
    return "\n".join(lines)


# ----------------------------------------------------------------- definitions


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
    """Load and check definitions; every problem in every file is reported."""
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
        output.write_text(text, encoding="utf-8")


# ------------------------------------------------------------------- commands


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
        case_id = engine.start(workflow, _data(data), version=version, actor=actor, at=at, parameters=_params(param or []))
        view = engine.get(case_id).to_dict()
    emit(as_json, view, _case_text(view))


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
        view = engine.fire(case, trigger, _data(data), actor=actor, at=at).to_dict()
    emit(as_json, view, _case_text(view))


@app.command()
@refusals
def show(
    ctx: typer.Context,
    case: str,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Show the case as it stood then (ISO date or time).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """A case now, or as it stood on a past date."""
    with engine_for(ctx) as engine:
        view = engine.get(case, as_of=as_of).to_dict()
    emit(as_json, view, _case_text(view))


@app.command()
@refusals
def history(ctx: typer.Context, case: str, as_json: JsonFlag = False) -> None:
    """Every event of a case, in order, with who, when it took effect and when it was recorded."""
    with engine_for(ctx) as engine:
        entries = engine.history(case)
    rows = [e.to_dict() for e in entries]
    text = "\n".join(f"{e.version:>4}  {e.effective_at.astimezone(LONDON):%Y-%m-%d %H:%M}  {e.actor:<24} {demo_module.describe(e)}" for e in entries)
    emit(as_json, {"case_id": case, "events": rows}, text)


@app.command()
@refusals
def allowed(ctx: typer.Context, case: str, as_json: JsonFlag = False) -> None:
    """The triggers a case may take now, with the data each requires."""
    with engine_for(ctx) as engine:
        state = engine.get(case).state
        triggers = [t.to_dict() for t in engine.allowed_triggers(case)]
    text = "\n".join(f"{t['trigger']} -> {t['to']}  data: {', '.join(t['data']) or '-'}" for t in triggers)
    emit(as_json, {"case_id": case, "state": state, "triggers": triggers}, text or "(none: the case has ended)")


@app.command()
@refusals
def due(
    ctx: typer.Context,
    before: Annotated[str | None, typer.Option("--before", help="Only what falls due by then; default everything armed.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Timers to fire and deadlines standing, across all cases, earliest first."""
    limit = aware(before) if before else None
    with engine_for(ctx) as engine:
        items = [i.to_dict() for i in engine.due(before=limit)]
    text = "\n".join(f"{i['due_at'][:16]}  {i['kind']:<8} {i['name']:<24} {i['case_id']}  {i['detail']}" for i in items)
    emit(as_json, {"before": limit, "items": items}, text or "nothing due")


@app.command()
@refusals
def register(
    ctx: typer.Context,
    nation: Annotated[str | None, typer.Option("--nation", help="england or wales; default both.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="Only this status, e.g. 'in follow-up'.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Authorities in follow-up or due re-inspection (any status a workflow lists): since when, and what is next."""
    with engine_for(ctx) as engine:
        entries = [e.to_dict() for e in engine.register(nation=nation, status=status)]
    text = "\n".join(
        f"{e['authority']:<28} {e['nation']:<8} {e['status']:<18} since {e['since'][:10]}  next: "
        + (f"{e['next_due']['name']} {e['next_due']['due_at'][:10]}" if e["next_due"] else "-")
        for e in entries
    )
    emit(as_json, {"nation": nation, "status": status, "entries": entries}, text or "no authority listed")


@app.command()
@refusals
def upcoming(
    ctx: typer.Context,
    weeks: Annotated[int, typer.Option("--weeks", min=0, help="How far ahead.")] = 8,
    now: Annotated[str | None, typer.Option("--from", help="Count from this date instead of today.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Every deadline, milestone and timer due in the next N weeks (and any overdue), across all cases."""
    with engine_for(ctx) as engine:
        items = [i.to_dict() for i in engine.upcoming(weeks, now=now)]
    text = "\n".join(f"{i['due_at'][:10]}  {i['kind']:<8} {i['name']:<28} {i['workflow']:<28} {i['detail']}" for i in items)
    emit(as_json, {"weeks": weeks, "items": items}, text or "nothing due")


@app.command()
@refusals
def simulate(
    ctx: typer.Context,
    until: Annotated[str | None, typer.Option("--until", help="Run the simulated clock to this date or time.")] = None,
    run_all: Annotated[bool, typer.Option("--all", help="Run through every pending timer and deadline.")] = False,
    national: Annotated[bool, typer.Option("--national", help="Run all 22 Welsh and 152 English authorities through --years of process with seeded random outcomes.")] = False,
    years: Annotated[int, typer.Option("--years", min=1, max=50, help="With --national: how many years.")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="With --national: the random seed (same seed, same story).")] = 1,
    as_json: JsonFlag = False,
) -> None:
    """Move a simulated clock forward, firing timers and recording missed deadlines in due order."""
    if national:
        _national(ctx, years, seed, as_json)
        return
    if (until is None) == (not run_all):
        raise InvalidData("simulate takes exactly one of --until DATE, --all or --national")
    limit = aware(until) if until else None
    handled: list[dict[str, Any]] = []
    with engine_for(ctx) as engine:
        pending = engine.due()
        start = pending[0].due_at if pending else (limit or engine.clock.now())
        engine.clock = SimulatedClock(min(start, limit) if limit else start)
        engine.run_due(until=limit or FOREVER, on_fire=lambda item: handled.append(item.to_dict()), max_items=MAX_SIMULATED)
        if limit:
            engine.clock.advance_to(limit)  # type: ignore[attr-defined]
        now = engine.clock.now()
    text = "\n".join(f"{i['due_at'][:16]}  {i['kind']:<8} {i['name']:<24} {i['case_id']}" for i in handled)
    emit(as_json, {"clock": now, "handled": handled, "count": len(handled)}, (text + "\n" if text else "") + f"{len(handled)} handled")


def _national(ctx: typer.Context, years: int, seed: int, as_json: bool) -> None:
    from .national import simulate_nation

    start = date(2013, 6, 3)
    with engine_for(ctx, clock=SimulatedClock(start)) as engine:
        summary = simulate_nation(engine, seed=seed, start=start, years=years).to_dict()
    lines = [
        f"{summary['start']} to {summary['end']}, seed {seed}: {summary['authorities']} authorities, "
        f"{summary['commands']} decisions ({summary['refusals']} refused by guards), {summary['events']} events",
        "cases started:",
        *(f"  {k:<40} {v}" for k, v in summary["cases_started"].items()),
        "where they ended up:",
        *(f"  {w:<40} " + ", ".join(f"{s} {n}" for s, n in states.items()) for w, states in summary["final_states"].items()),
        "register now: " + (", ".join(f"{s} {n}" for s, n in summary["register"].items()) or "nobody listed"),
        "deadlines: " + ", ".join(f"{s} {n}" for s, n in summary["deadlines"].items()),
    ]
    emit(as_json, summary, "\n".join(lines))


@app.command()
@refusals
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address the HTTP API listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port of the HTTP API.")] = 8000,
    http: Annotated[bool, typer.Option("--http/--no-http", help="Serve the HTTP API beside the scheduler.")] = True,
    poll: Annotated[float, typer.Option("--poll", min=0.05, help="Seconds between looks at the index for work others armed.")] = 5.0,
    webhook: Annotated[list[str] | None, typer.Option("--webhook", help="POST every notification (timer fired, deadline missed or approaching) here as JSON; repeatable.")] = None,
) -> None:
    """The service: fire timers and record missed deadlines as they fall due, and serve the HTTP API, until SIGTERM/SIGINT."""
    from .service import open_engine, serve as run_service

    engine = open_engine(catalog_of(ctx), ctx.obj.store)
    try:
        run_service(engine, host=host, port=port, http=http, poll_seconds=poll, webhooks=webhook or [])
    finally:
        engine.close()


@app.command()
@refusals
def verify(ctx: typer.Context, case: Annotated[str | None, typer.Argument()] = None, as_json: JsonFlag = False) -> None:
    """Prove no stored event was altered: recompute every digest and the chain; exit 1 if any fails."""
    with engine_for(ctx) as engine:
        report = engine.verify(case)
    lines = [f"{'ok  ' if c.ok else 'FAIL'} {c.case_id}  {c.events} events  head {c.head_hash}" for c in report.cases]
    lines += [f"     {p}" for c in report.cases for p in c.problems]
    emit(as_json, report.to_dict(), "\n".join(lines) or "no cases")
    if not report.ok:
        raise typer.Exit(1)


@app.command()
@refusals
def demo(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Run the public example (Norfolk, June 2013) on a simulated clock and print its timeline."""
    with engine_for(ctx, clock=SimulatedClock(demo_module.START)) as engine:
        case_id = demo_module.run(engine)
        entries = engine.history(case_id)
        view = engine.get(case_id).to_dict()
        children = [engine.get(child["id"]).to_dict() for child in view["children"]]
    if as_json:
        emit(True, {"case": view, "children": children, "events": [e.to_dict() for e in entries]}, "")
        return
    typer.echo(f"Ofsted inspection of Norfolk (framework of May 2013) — case {case_id}\n")
    for entry in entries:
        typer.echo(f"{entry.effective_at.astimezone(LONDON):%a %d %b %Y}  {entry.actor:<26} {demo_module.describe(entry)}")
    typer.echo("\n" + _case_text(view))
    for child in children:
        typer.echo("\n" + _case_text(child))


# Sub-apps import this module's helpers lazily, inside their commands, so mounting them here makes no cycle.
from .keys_cli import keys_app  # noqa: E402
from .risk_cli import risk_app  # noqa: E402

app.add_typer(risk_app, name="risk")
app.add_typer(keys_app, name="keys")


def run() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
