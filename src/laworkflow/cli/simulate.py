"""Running time forwards: `simulate` (one store, a what-if copy, or the nation) and the Norfolk `demo`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import typer

from laworkflow.calendar.bounds import LATEST_MOMENT
from laworkflow.calendar.clock import LONDON, SimulatedClock, SystemClock, aware
from laworkflow.cli.progress import ReportingClock, bar
from laworkflow.cli.root import app
from laworkflow.cli.support import JsonFlag, case_text, emit, engine_for, refusals
from laworkflow.engine import Engine
from laworkflow.errors import BadTime, InvalidData
from laworkflow.simulation import demo as demo_module
from laworkflow.simulation.whatif import copy_to_memory
from laworkflow.store import chosen, is_persistent, masked

FOREVER = LATEST_MOMENT  # `simulate --all` runs to the last moment the engine accepts
MAX_SIMULATED = 1_000_000  # bounds `simulate --all` should a workflow re-arm timers for ever


@app.command()
@refusals
def simulate(
    ctx: typer.Context,
    until: Annotated[str | None, typer.Option("--until", help="Run the simulated clock to this date or time.")] = None,
    run_all: Annotated[bool, typer.Option("--all", help="Run through every pending timer and deadline.")] = False,
    national: Annotated[
        bool, typer.Option("--national", help="Run all 22 Welsh and 152 English authorities through --years of process with seeded random outcomes.")
    ] = False,
    years: Annotated[int, typer.Option("--years", min=1, max=50, help="With --national: how many years.")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="With --national: the random seed (same seed, same story).")] = 1,
    what_if: Annotated[
        bool, typer.Option("--what-if", help="Run on an in-memory copy of the store and print what would happen; the store is left untouched.")
    ] = False,
    allow_future: Annotated[
        bool,
        typer.Option(
            "--allow-future",
            help="On a persistent store, record timers fired and deadlines missed after now (the next real command on those cases must then be dated after them).",
        ),
    ] = False,
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
        engine.clock.advance_to(limit)
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
    from laworkflow.simulation.national import simulate_nation

    start = date(2013, 6, 3)
    end = date(start.year + years, start.month, start.day)
    guard.check(aware(end), f"simulate --national --years {years} (to {start.year + years})")
    with bar(f"simulating {years} year{'s' if years != 1 else ''}", as_json=as_json, total=(end - start).days) as progress:
        clock = ReportingClock(start, progress)  # the bar fills with the simulated days
        with engine_for(ctx, clock=SimulatedClock(start) if what_if else clock) as engine:
            target = copy_to_memory(engine, clock=clock) if what_if else engine
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
    typer.echo("\n" + case_text(view))
    for child in children:
        typer.echo("\n" + case_text(child))
