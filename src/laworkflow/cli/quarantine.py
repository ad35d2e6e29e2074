"""`laworkflow quarantine`: what the timer index set aside rather than stop for, and putting it back.

Mounted by the main CLI (`app.add_typer(quarantine_app, name="quarantine")`).
The index sets aside an event whose effect it cannot work out (a due date
outside the range, stored before dates were checked) and a due item whose
handling failed (a definition edited under a running case), notifies
`item_quarantined` and goes on with the rest. Once the cause is fixed:

    laworkflow quarantine list
    laworkflow quarantine release event:4f1c…:7     # the id as `list` prints it

It follows the CLI's conventions: `--json` prints one JSON document, a refusal
prints one line starting `error:` and exits 1.
"""

from __future__ import annotations

from typing import Annotated

import typer

from laworkflow.calendar.clock import LONDON
from laworkflow.cases.views import QuarantinedItem
from laworkflow.cli.support import JsonFlag, emit, engine_for, refusals

quarantine_app = typer.Typer(no_args_is_help=True, help="What the timer index set aside rather than stop for: list, release.")


def _line(entry: QuarantinedItem) -> str:
    what = f"{entry.kind} {entry.name}".strip()
    at = f"{entry.quarantined_at.astimezone(LONDON):%Y-%m-%d %H:%M}"
    return f"{entry.id}  {at}  {what}  {entry.error}"


@quarantine_app.command("list")
@refusals
def list_quarantined(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Everything set aside, one line each: its id (for `release`), when, what, and the error."""
    with engine_for(ctx) as engine:
        entries = engine.quarantined()
    emit(as_json, {"items": entries}, "\n".join(_line(e) for e in entries) or "nothing quarantined")


@quarantine_app.command("release")
@refusals
def release(
    ctx: typer.Context,
    entry_id: Annotated[str, typer.Argument(metavar="ID", help="The id `quarantine list` prints.")],
    as_json: JsonFlag = False,
) -> None:
    """Try it again: an item goes back to be handled when due; an event is folded into the index now."""
    with engine_for(ctx) as engine:
        entry = engine.release(entry_id)
    emit(as_json, {"released": entry}, f"released {entry.id}")


__all__ = ["quarantine_app"]
