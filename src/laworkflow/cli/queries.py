"""Questions across cases: what is due, the register of authorities, what falls due in the coming weeks."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from laworkflow.calendar.bounds import EARLIEST_DAY, LATEST_DAY, RANGE_TEXT, check_moment
from laworkflow.calendar.clock import SystemClock, aware
from laworkflow.calendar.working_days import calendar_for
from laworkflow.cli.root import app
from laworkflow.cli.support import JsonFlag, emit, engine_for, refusals
from laworkflow.errors import OutOfRange

MAX_WEEKS = (LATEST_DAY - EARLIEST_DAY).days // 7 + 1  # more than this from any day leaves the range


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
        + (f"  findings: {e['findings']}, latest {e['latest_finding']['id']} {e['latest_finding']['effective_at'][:10]}" if e["findings"] else "")
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
