"""Questions across cases: what is due, the register of authorities, what falls due in the coming weeks.

Their text is a table per question (`laworkflow.cli.tables`); `--json` prints the documents the README describes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from laworkflow.calendar.bounds import EARLIEST_DAY, LATEST_DAY, RANGE_TEXT, check_moment
from laworkflow.calendar.clock import SystemClock, aware
from laworkflow.calendar.working_days import calendar_for
from laworkflow.cli.root import app
from laworkflow.cli.support import JsonFlag, emit, engine_for, refusals
from laworkflow.cli.tables import authorities, console, due_table, findings_lines, print_table, register_table
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
        names = {} if as_json else authorities(engine, (i["case_id"] for i in items))
    if as_json:
        emit(True, {"before": limit, "items": items}, "")
        return
    print_table(due_table(items, names, SystemClock().now(), with_time=True), "nothing due")


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
    if as_json:
        emit(True, {"nation": nation, "status": status, "entries": entries}, "")
        return
    print_table(register_table(entries, SystemClock().now()), "no authority listed")
    for line in dict.fromkeys(findings_lines(entries)):  # an authority listed under two statuses has its findings once
        console().print(line, markup=False)


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
        names = {} if as_json else authorities(engine, (i["case_id"] for i in items))
    if as_json:
        emit(True, {"weeks": weeks, "items": items}, "")
        return
    print_table(due_table(items, names, start, with_time=False), "nothing due")
