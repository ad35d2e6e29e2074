"""`laworkflow audit replay [CASE]`: would the definitions the cases pinned have recorded what the store holds?

`verify` proves the stored events are the ones written; replay proves they are
ones the definition would write (`audit.replay` says how, and what it cannot
see). One line per finding, then a summary; exit 1 when there is any finding.
"""

from __future__ import annotations

from typing import Annotated

import typer

from laworkflow.audit.replay import replay as replay_cases
from laworkflow.cli.audit import audit_app
from laworkflow.cli.support import JsonFlag, case_id_of, emit, engine_for, refusals


@audit_app.command("replay")
@refusals
def replay(
    ctx: typer.Context,
    case: Annotated[str | None, typer.Argument(help="One case (id or unique prefix); every case when left out.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Re-run each case's recorded commands against the definition it pinned; report every event it would not have produced."""
    with engine_for(ctx) as engine:
        report = replay_cases(engine, case_id_of(engine, case) if case is not None else None)
    count = len(report.findings)
    summary = (
        f"{'ok  ' if report.ok else 'FAIL'} replayed {report.cases} case{'s' * (report.cases != 1)}, {report.events} events, "
        f"{report.commands} commands: {count} finding{'s' * (count != 1)}"
    )
    emit(as_json, report.to_dict(), "\n".join([*(finding.line() for finding in report.findings), summary]))
    if not report.ok:
        raise typer.Exit(1)


__all__ = ["replay"]
