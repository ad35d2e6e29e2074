"""The `laworkflow` command line.

Every command takes `--json` and then prints one JSON document of a stable,
documented shape (README, "CLI output"). A refused command prints one readable
line on stderr, exits 1 and writes nothing.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from . import demo as demo_module
from .bounds import EARLIEST_DAY, LATEST_DAY, LATEST_MOMENT, RANGE_TEXT, check_moment
from .catalog import WORKFLOWS_ENV
from .calendar import calendar_for
from .cli_support import (
    DEFAULT_MAX_DATA_BYTES,
    GUARDS_ENV,
    MAX_DATA_ENV,
    ActorOption,
    App,
    AtOption,
    JsonFlag,
    Settings,
    case_id_of,
    catalog_of,
    emit,
    engine_for,
    load_guards,
    read_data,
    refusals,
)
from .clock import LONDON, SimulatedClock, SystemClock, aware
from .definition import json_schema
from .diagram import mermaid
from .engine import Engine
from .errors import BadTime, DefinitionError, InvalidData, LaworkflowError, OutOfRange
from .loader import load_file
from .logs import LOG_ENV, configure, get_logger
from .store import STORE_ENV, chosen, is_persistent, masked, store_errors
from .whatif import copy_to_memory

# pretty_exceptions off: Typer's rich tracebacks print every frame's local variables, store passwords included.
app = App(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, help="Event-sourced workflows for inspections of local authorities.")
definitions_app = typer.Typer(no_args_is_help=True, help="Workflow definitions: list, show, validate, diagram.")
app.add_typer(definitions_app, name="definitions")

FOREVER = LATEST_MOMENT  # `simulate --all` runs to the last moment the engine accepts
MAX_SIMULATED = 1_000_000  # bounds `simulate --all` should a workflow re-arm timers for ever
MAX_WEEKS = (LATEST_DAY - EARLIEST_DAY).days // 7 + 1  # more than this from any day leaves the range
log = get_logger("laworkflow.cli")


@app.callback()
def main(
    ctx: typer.Context,
    store: Annotated[str | None, typer.Option("--store", envvar=STORE_ENV, help="memory:, an SQLite file path or sqlite:///FILE, or postgresql://… (default ./laworkflow.sqlite).")] = None,
    workflows: Annotated[Path | None, typer.Option("--workflows", envvar=WORKFLOWS_ENV, help="Folder of workflow YAML files (default ./workflows).")] = None,
    log_level: Annotated[str | None, typer.Option("--log-level", envvar=LOG_ENV, help="debug, info, warning (default), error.")] = None,
    guards: Annotated[list[str] | None, typer.Option("--guards", envvar=GUARDS_ENV, help="Import this module of named guards (laworkflow.register_guard) before loading definitions; repeatable, or comma-separated in $LAWORKFLOW_GUARDS. Entry points of group laworkflow.guards are always loaded.")] = None,
    max_data_bytes: Annotated[int, typer.Option("--max-data-bytes", envvar=MAX_DATA_ENV, min=1, help="Largest --data (text or @FILE) accepted, in bytes.")] = DEFAULT_MAX_DATA_BYTES,
) -> None:
    configure(log_level)
    try:
        load_guards(guards or [])
    except LaworkflowError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    ctx.obj = Settings(store, workflows, max_data_bytes)


def _data(ctx: typer.Context, raw: str | None) -> dict[str, Any]:
    """`--data` is JSON text, or @FILE holding JSON; no larger than --max-data-bytes."""
    return read_data(raw, ctx.obj.max_data_bytes)


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
        case_id = engine.start(workflow, _data(ctx, data), version=version, actor=actor, at=at, parameters=_params(param or []))
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
        view = engine.fire(case_id_of(engine, case), trigger, _data(ctx, data), actor=actor, at=at).to_dict()
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
        view = engine.get(case_id_of(engine, case), as_of=as_of).to_dict()
    emit(as_json, view, _case_text(view))


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
        for e in entries
    )
    emit(as_json, {"case_id": str(case_id), "events": rows}, text)


@app.command()
@refusals
def allowed(ctx: typer.Context, case: str, as_json: JsonFlag = False) -> None:
    """The triggers a case may take now, with the data each requires."""
    with engine_for(ctx) as engine:
        case_id = case_id_of(engine, case)
        state = engine.get(case_id).state
        triggers = [t.to_dict() for t in engine.allowed_triggers(case_id)]
    text = "\n".join(f"{t['trigger']} -> {t['to']}  data: {', '.join(t['data']) or '-'}" for t in triggers)
    emit(as_json, {"case_id": str(case_id), "state": state, "triggers": triggers}, text or "(none: the case has ended)")


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
    if nation is not None:
        nation = calendar_for(nation).nation  # as the engine reads it ("Wales" is wales), for the JSON echo
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
    start = aware(now) if now else SystemClock().now()
    if weeks > MAX_WEEKS:
        raise OutOfRange(f"--weeks {weeks} reaches beyond the dates the engine accepts ({RANGE_TEXT}); at most {MAX_WEEKS}")
    check_moment(start + timedelta(weeks=weeks), f"the end of --weeks {weeks} from --from,")
    with engine_for(ctx) as engine:
        items = [i.to_dict() for i in engine.upcoming(weeks, now=start)]
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
    what_if: Annotated[bool, typer.Option("--what-if", help="Run on an in-memory copy of the store and print what would happen; the store is left untouched.")] = False,
    allow_future: Annotated[bool, typer.Option("--allow-future", help="On a persistent store, record timers fired and deadlines missed after now (the next real command on those cases must then be dated after them).")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Move a simulated clock forward, firing timers and recording missed deadlines in due order.

    On a persistent store (SQLite, PostgreSQL) whatever would be recorded after now is refused
    unless --allow-future; --what-if runs on a copy instead and writes nothing.
    """
    if what_if and allow_future:
        raise InvalidData("simulate takes --what-if (write nothing) or --allow-future (write the future), not both")
    guard = _FutureGuard(ctx.obj.store, what_if=what_if, allow_future=allow_future)
    if national:
        _national(ctx, years, seed, as_json, guard, what_if)
        return
    if (until is None) == (not run_all):
        raise InvalidData("simulate takes exactly one of --until DATE, --all or --national")
    limit = aware(until) if until else None
    if limit is not None:
        guard.check(limit, f"simulate --until {until}")
    with engine_for(ctx) as engine:
        if run_all and guard.active:
            # Where --all ends depends on the cases, so try it on a copy first; refuse before anything is written.
            trial = copy_to_memory(engine)
            try:
                trial_handled, _ = _run_due(trial, None)
            finally:
                trial.close()
            late = [item for item in trial_handled if datetime.fromisoformat(item["due_at"]) > guard.now]
            if late:
                raise BadTime(
                    f"simulate --all would record {len(late)} item(s) due after now on the persistent store {masked(chosen(ctx.obj.store))!r}, "
                    f"first {late[0]['kind']} {late[0]['name']} of case {late[0]['case_id']} due {late[0]['due_at']}; "
                    "use --what-if to see them without writing, or --allow-future to record them"
                )
        target = copy_to_memory(engine) if what_if else engine
        try:
            handled, now = _run_due(target, limit)
        finally:
            if target is not engine:
                target.close()
    lines = [_handled_text(item) for item in handled]
    lines.append(f"{len(handled)} handled; simulated clock at {now.astimezone(LONDON):%Y-%m-%d %H:%M}")
    if what_if:
        lines.append(f"what-if: run on a copy; nothing was written to {masked(chosen(ctx.obj.store))}")
    emit(as_json, {"clock": now, "handled": handled, "count": len(handled), "what_if": what_if}, "\n".join(lines))


class _FutureGuard:
    """Refuses, on a persistent store, a simulation that would record events dated after now."""

    def __init__(self, store: str | None, *, what_if: bool, allow_future: bool):
        self.store = store
        self.now = SystemClock().now()
        self.active = not what_if and not allow_future and is_persistent(store)

    def check(self, moment: datetime, what: str) -> None:
        if self.active and moment > self.now:
            raise BadTime(
                f"{what} is after now on the persistent store {masked(chosen(self.store))!r}: events recorded there would date "
                "the next real command on those cases in the future; use --what-if to run on a copy, or --allow-future to record it"
            )


def _run_due(engine: Engine, limit: datetime | None) -> tuple[list[dict[str, Any]], datetime]:
    """Handle everything due by `limit` (all, when None) on a simulated clock; each item with its case's state after it."""
    handled: list[dict[str, Any]] = []

    def record(item: Any) -> None:
        case = engine.get(item.case_id)
        handled.append({**item.to_dict(), "state": case.state, "ended": case.ended})

    pending = engine.due()
    start = pending[0].due_at if pending else (limit or engine.clock.now())
    engine.clock = SimulatedClock(min(start, limit) if limit else start)
    engine.run_due(until=limit or FOREVER, on_fire=record, max_items=MAX_SIMULATED)
    if limit:
        engine.clock.advance_to(limit)  # type: ignore[attr-defined]
    return handled, engine.clock.now()


_OUTCOMES = {"timer": "fired", "deadline": "recorded missed", "reminder": "reminder queued"}


def _handled_text(item: dict[str, Any]) -> str:
    outcome = _OUTCOMES.get(item["kind"], "handled")
    state = f"{item['state']}{' (ended)' if item['ended'] else ''}"
    return (
        f"{datetime.fromisoformat(item['due_at']).astimezone(LONDON):%Y-%m-%d %H:%M}  {item['kind']:<8} {item['name']:<24} {outcome}: "
        f"case {item['case_id']} ({item['workflow']}) now {state}"
    )


def _national(ctx: typer.Context, years: int, seed: int, as_json: bool, guard: _FutureGuard, what_if: bool) -> None:
    from .national import simulate_nation

    start = date(2013, 6, 3)
    guard.check(aware(date(start.year + years, start.month, start.day)), f"simulate --national --years {years} (to {start.year + years})")
    with engine_for(ctx, clock=SimulatedClock(start)) as engine:
        target = copy_to_memory(engine, clock=SimulatedClock(start)) if what_if else engine
        try:
            summary = simulate_nation(target, seed=seed, start=start, years=years).to_dict()
        finally:
            if target is not engine:
                target.close()
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
    if what_if:
        lines.append(f"what-if: run on a copy; nothing was written to {masked(chosen(ctx.obj.store))}")
    emit(as_json, {**summary, "what_if": what_if} if what_if else summary, "\n".join(lines))


@app.command()
@refusals
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address the HTTP API listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port of the HTTP API.")] = 8000,
    http: Annotated[bool, typer.Option("--http/--no-http", help="Serve the HTTP API beside the scheduler.")] = True,
    poll: Annotated[float, typer.Option("--poll", min=0.05, help="Seconds between looks at the index for work others armed.")] = 5.0,
    webhook: Annotated[list[str] | None, typer.Option("--webhook", help="POST every notification (timer fired, deadline missed or approaching) here as JSON; repeatable.")] = None,
) -> None:
    """The service: fire timers and record missed deadlines as they fall due, and serve the HTTP API, until SIGTERM/SIGINT."""
    from .service import open_engine, serve as run_service

    catalog = catalog_of(ctx)
    log.info("service.opening", store=masked(chosen(ctx.obj.store)))
    with store_errors(ctx.obj.store):
        engine = open_engine(catalog, ctx.obj.store)
    try:
        run_service(engine, host=host, port=port, http=http, poll_seconds=poll, webhooks=webhook or [])
    finally:
        engine.close()


@app.command()
@refusals
def verify(ctx: typer.Context, case: Annotated[str | None, typer.Argument()] = None, as_json: JsonFlag = False) -> None:
    """Prove no stored event was altered: recompute every digest and the chain; exit 1 if any fails."""
    with engine_for(ctx) as engine:
        report = engine.verify(case_id_of(engine, case) if case is not None else None)
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
from .quarantine_cli import quarantine_app  # noqa: E402
from .risk_cli import risk_app  # noqa: E402

app.add_typer(risk_app, name="risk")
app.add_typer(keys_app, name="keys")
app.add_typer(quarantine_app, name="quarantine")


def run() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
