"""`laworkflow cases`: find cases by workflow, authority, nation, state, status, data, dates and missed deadlines."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from laworkflow.calendar.clock import LONDON
from laworkflow.cli.root import app
from laworkflow.cli.support import JsonFlag, emit, engine_for, refusals
from laworkflow.projections.case_search import DEFAULT_LIMIT, DEFAULT_SORT, MAX_LIMIT, SORTS, CaseQuery


def _line(case: dict[str, Any]) -> str:
    moved = datetime.fromisoformat(case["moved_at"]).astimezone(LONDON)
    missed = f"  missed: {', '.join(case['missed_deadlines'])}" if case["missed_deadlines"] else ""
    return (
        f"{case['id'][:8]}  {case['workflow'] + '@' + str(case['version']):<34} {case['state']:<26} "
        f"{case['authority'] or '-':<24} {case['status'] or '-':<18} moved {moved:%Y-%m-%d}{missed}"
    )


@app.command()
@refusals
def cases(
    ctx: typer.Context,
    workflow: Annotated[str | None, typer.Option("--workflow", help="Only cases of this workflow (its id).")] = None,
    version: Annotated[int | None, typer.Option("--version", help="Only cases on this definition version.")] = None,
    authority: Annotated[str | None, typer.Option("--authority", help="Only this authority's cases (any case of letters).")] = None,
    nation: Annotated[str | None, typer.Option("--nation", help="england or wales.")] = None,
    state: Annotated[str | None, typer.Option("--state", help="Only cases in this state.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="Only cases whose state the register lists so, e.g. 'in follow-up'.")] = None,
    where: Annotated[list[str] | None, typer.Option("--where", help="FIELD=VALUE: a data field holds the value (repeatable, all must hold).")] = None,
    started_from: Annotated[str | None, typer.Option("--started-from", help="Started at or after (ISO date or time).")] = None,
    started_to: Annotated[str | None, typer.Option("--started-to", help="Started by (a date takes in its whole UK day).")] = None,
    moved_from: Annotated[str | None, typer.Option("--moved-from", help="Last moved at or after (ISO date or time).")] = None,
    moved_to: Annotated[str | None, typer.Option("--moved-to", help="Last moved by (a date takes in its whole UK day).")] = None,
    missed: Annotated[bool | None, typer.Option("--missed/--none-missed", help="Only cases with a deadline recorded missed, or only those without.")] = None,
    sort: Annotated[str, typer.Option("--sort", help=f"One of {', '.join(SORTS)}; '-' first for the reverse order.")] = DEFAULT_SORT,
    limit: Annotated[int, typer.Option("--limit", min=1, max=MAX_LIMIT, help="Cases per page.")] = DEFAULT_LIMIT,
    after: Annotated[str | None, typer.Option("--after", help="The cursor a previous page gave: the page after it.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Find cases: filter, sort, and page through them (the last line gives the next page's --after)."""
    query = CaseQuery(
        workflow=workflow,
        version=version,
        authority=authority,
        nation=nation,
        state=state,
        status=status,
        where=tuple(where or ()),
        started_from=started_from,
        started_to=started_to,
        moved_from=moved_from,
        moved_to=moved_to,
        missed=missed,
        sort=sort,
        limit=limit,
        after=after,
    )
    with engine_for(ctx) as engine:
        page = engine.cases(query).to_dict()
    lines = [_line(case) for case in page["cases"]] or ["no case found"]
    lines.append(f"{len(page['cases'])} of {page['total']} shown" + (f"; next page: --after {page['next']}" if page["next"] else ""))
    emit(as_json, page, "\n".join(lines))
