"""`laworkflow diagram CASE` and `laworkflow timeline CASE`: a case's pictures as SVG or PNG files, for reports.

    laworkflow diagram 98f0                          # 98f0a1b2-diagram.svg: the workflow, the path the case took, where it is
    laworkflow diagram 98f0 --out norfolk.png        # the same picture as PNG (the suffix decides)
    laworkflow timeline 98f0 --out norfolk-dates.svg # each deadline's window against the day it was met, and the milestones
    laworkflow timeline 98f0 --at 2013-07-01         # the timeline as it stood at the end of that day, that day marked

They are the pictures the web pages show (`laworkflow.pictures`), so a report
and the screen agree. The format comes from the file's name: `.svg` or `.png`;
any other suffix is refused before anything is read or written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from laworkflow.calendar.clock import aware, day_over_at, uk_date
from laworkflow.cli.root import app
from laworkflow.cli.support import JsonFlag, case_id_of, emit, engine_for, refusals
from laworkflow.errors import InvalidData
from laworkflow.pictures import state_diagram_svg, steps_from_history, svg_to_png, timeline_from_history, timeline_svg

FORMATS = (".svg", ".png")
OutOption = Annotated[Path | None, typer.Option("--out", help="The file to write, .svg or .png (default <case id prefix>-<picture>.svg here).")]


def picture_format(out: Path) -> str:
    """ "svg" or "png", from the file's suffix; anything else is refused."""
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise InvalidData(f"cannot tell what to write to {str(out)!r}: name the file .svg or .png")
    return suffix[1:]


def write_picture(out: Path, svg: str) -> str:
    """Write the picture as the file's suffix says (drawn in full first, so a failure leaves no file half written); its format."""
    kind = picture_format(out)
    content = svg_to_png(svg) if kind == "png" else svg.encode("utf-8")
    try:
        out.write_bytes(content)
    except OSError as error:
        raise InvalidData(f"cannot write {str(out)!r}: {error.strerror or error}") from None
    return kind


def _out(out: Path | None, case: str, picture: str) -> Path:
    path = out if out is not None else Path(f"{case[:8]}-{picture}.svg")
    picture_format(path)
    return path


@app.command()
@refusals
def diagram(ctx: typer.Context, case: str, out: OutOption = None, as_json: JsonFlag = False) -> None:
    """Draw a case's state diagram: its workflow, the steps it took (numbered) and the state it is in; prints the file written."""
    if out is not None:  # a name refused before the store is opened
        picture_format(out)
    with engine_for(ctx) as engine:
        case_id = case_id_of(engine, case)
        view = engine.get(case_id)
        definition = engine.pinned(view.workflow, view.version, view.definition_hash).definition
        steps = steps_from_history(engine.history(case_id))
    path = _out(out, str(case_id), "diagram")
    authority = view.data.get("authority")
    title = f"{definition.title}: case {str(case_id)[:8]}" + (f" ({authority})" if isinstance(authority, str) else "")
    kind = write_picture(path, state_diagram_svg(definition, steps=steps, current=view.state, title=title))
    emit(as_json, {"out": str(path), "format": kind, "case": str(case_id), "state": view.state, "steps": len(steps)}, str(path))


@app.command()
@refusals
def timeline(
    ctx: typer.Context,
    case: str,
    out: OutOption = None,
    at: Annotated[
        str | None, typer.Option("--at", help="Draw the case as it stood at the end of this UK day, marked as today (ISO date); default now.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Draw a case's timeline: each deadline's window against the day it was met, and the states it entered; prints the file written."""
    if out is not None:  # a name refused before the store is opened
        picture_format(out)
    day = uk_date(aware(at)) if at is not None else None
    with engine_for(ctx) as engine:
        case_id = case_id_of(engine, case)
        entries = engine.history(case_id)
        today = day if day is not None else engine.today()
        view = engine.get(case_id)
    if day is not None:
        entries = [entry for entry in entries if entry.effective_at < day_over_at(day)]
        if not entries:
            raise InvalidData(f"case {case_id} had not started by the end of {day.isoformat()}")
    path = _out(out, str(case_id), "timeline")
    authority = view.data.get("authority")
    title = f"Deadlines and milestones: case {str(case_id)[:8]}" + (f" ({authority})" if isinstance(authority, str) else "")
    kind = write_picture(path, timeline_svg(timeline_from_history(entries), today=today, title=title))
    emit(as_json, {"out": str(path), "format": kind, "case": str(case_id), "today": today}, str(path))


__all__ = ["diagram", "picture_format", "timeline", "write_picture"]
