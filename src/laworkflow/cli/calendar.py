"""`laworkflow calendar`: the deadlines and milestones of all cases, one authority's or one case's, as an iCalendar file.

    laworkflow calendar --out inspections.ics                   # every case
    laworkflow calendar --authority Norfolk --out norfolk.ics   # one authority's cases
    laworkflow calendar --case 98f0 --out case.ics              # one case (id or unique prefix)

The same document `GET /v1/calendar.ics` serves to a subscribed calendar; what it
holds is described in `laworkflow.feeds`. The tokens a calendar subscribes with are
keys of role `calendar` (`laworkflow keys issue outlook --role calendar`, `keys revoke`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from laworkflow.cli.root import app
from laworkflow.cli.support import JsonFlag, case_id_of, emit, engine_for, refusals
from laworkflow.errors import InvalidData
from laworkflow.feeds import Scope, build


@app.command()
@refusals
def calendar(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="The .ics file to write ('-' for standard output).")],
    authority: Annotated[str | None, typer.Option("--authority", help="Only the cases started for this authority.")] = None,
    case: Annotated[str | None, typer.Option("--case", help="Only this case (id or unique prefix).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Write an iCalendar (RFC 5545) file of deadlines and milestones, to import or to compare with a subscribed feed."""
    if authority is not None and case is not None:
        raise InvalidData("calendar takes --authority or --case, not both")
    with engine_for(ctx) as engine:
        scope = Scope(authority=authority, case=case_id_of(engine, case) if case is not None else None)
        built = build(engine, scope)
    if str(out) == "-":
        typer.echo(built.document.decode("utf-8"), nl=False)
        return
    try:
        out.write_bytes(built.document)
    except OSError as error:
        raise InvalidData(f"cannot write {str(out)!r}: {error.strerror}") from None
    emit(as_json, {"out": str(out), "title": built.title, "events": built.events}, f"wrote {out.name}: {built.events} events ({built.title})")


__all__ = ["calendar"]
