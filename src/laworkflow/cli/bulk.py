"""`laworkflow bulk fire|withdraw|reassign`: one operation on every case the filters of `laworkflow cases` find.

Without `--yes` each prints its plan — per case, what would happen or why it
would be refused — and writes nothing; with `--yes` it does it, case by case,
printing each case as it is done, so an operator sees how far a run got. Run
again after a crash (the same command), it does only what is left
(`laworkflow.bulk` says how).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from laworkflow.bulk import BulkItem, BulkReport, fire, reassign, withdraw_cases
from laworkflow.cli.support import ActorOption, AtOption, JsonFlag, command_data, emit, engine_for, refusals
from laworkflow.projections.case_search import CaseQuery

bulk_app = typer.Typer(no_args_is_help=True, help="Fire, withdraw or reassign on many cases at once: a dry run first, then --yes.")

Workflow = Annotated[str | None, typer.Option("--workflow", help="Only cases of this workflow (its id).")]
Version = Annotated[int | None, typer.Option("--version", help="Only cases on this definition version.")]
Authority = Annotated[str | None, typer.Option("--authority", help="Only this authority's cases (any case of letters).")]
Nation = Annotated[str | None, typer.Option("--nation", help="england or wales.")]
State = Annotated[str | None, typer.Option("--state", help="Only cases in this state.")]
Status = Annotated[str | None, typer.Option("--status", help="Only cases whose state the register lists so, e.g. 'in follow-up'.")]
Where = Annotated[list[str] | None, typer.Option("--where", help="FIELD=VALUE: a data field holds the value (repeatable, all must hold).")]
StartedFrom = Annotated[str | None, typer.Option("--started-from", help="Started at or after (ISO date or time).")]
StartedTo = Annotated[str | None, typer.Option("--started-to", help="Started by (a date takes in its whole UK day).")]
Missed = Annotated[bool | None, typer.Option("--missed/--none-missed", help="Only cases with a deadline recorded missed, or only those without.")]
Yes = Annotated[bool, typer.Option("--yes", help="Do it. Without it, the plan is printed and nothing is written.")]
Operation = Annotated[
    str | None, typer.Option("--operation", help="The id to record the operation under (default: a digest of the command; a rerun finds the same).")
]
Reason = Annotated[str | None, typer.Option("--reason", help="Why: recorded on every case.")]


def _query(workflow: str | None, version: int | None, authority: str | None, nation: str | None, state: str | None, **rest: Any) -> CaseQuery:
    where = rest.pop("where") or []
    return CaseQuery(workflow=workflow, version=version, authority=authority, nation=nation, state=state, where=tuple(where), **rest)


def _line(item: BulkItem) -> str:
    return f"{str(item.case_id)[:8]}  {item.workflow:<26} {item.state:<24} {item.outcome:<15} {item.detail}"


def _printer(as_json: bool, apply: bool) -> Callable[[BulkItem], None] | None:
    """Each case's line as it is done (applying, in text): how far a run got stays on the screen."""
    if as_json or not apply:
        return None

    def show(item: BulkItem) -> None:
        typer.echo(_line(item))

    return show


def _show(as_json: bool, report: BulkReport) -> None:
    counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(report.counts.items())) or "no case found"
    if report.applied:
        text = f"{report.description}: {counts} (operation {report.operation_id})"
    else:
        lines = [_line(item) for item in report.items]
        text = "\n".join(
            [*lines, f"dry run of {report.description}: {counts}; nothing was written. Run again with --yes to apply (operation {report.operation_id})."]
        )
    emit(as_json, report, text)


@bulk_app.command("fire")
@refusals
def fire_command(
    ctx: typer.Context,
    trigger: str,
    data: Annotated[str | None, typer.Option("--data", help="Trigger data: JSON, or @FILE; the same for every case.")] = None,
    workflow: Workflow = None,
    version: Version = None,
    authority: Authority = None,
    nation: Nation = None,
    state: State = None,
    status: Status = None,
    where: Where = None,
    started_from: StartedFrom = None,
    started_to: StartedTo = None,
    missed: Missed = None,
    reason: Reason = None,
    operation: Operation = None,
    actor: ActorOption = "cli",
    at: AtOption = None,
    yes: Yes = False,
    as_json: JsonFlag = False,
) -> None:
    """Fire one trigger on every case found (a national pause); a case that refuses it is listed with the reason and skipped."""
    query = _query(workflow, version, authority, nation, state, status=status, where=where, started_from=started_from, started_to=started_to, missed=missed)
    payload = command_data(ctx, data)
    with engine_for(ctx) as engine:
        report = fire(engine, query, trigger, payload, actor=actor, at=at, reason=reason, apply=yes, op_id=operation, on_item=_printer(as_json, yes))
    _show(as_json, report)


@bulk_app.command("withdraw")
@refusals
def withdraw_command(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option("--reason", help="Why the cases are withdrawn (required): recorded on every case.")],
    workflow: Workflow = None,
    version: Version = None,
    authority: Authority = None,
    nation: Nation = None,
    state: State = None,
    status: Status = None,
    where: Where = None,
    started_from: StartedFrom = None,
    started_to: StartedTo = None,
    missed: Missed = None,
    operation: Operation = None,
    actor: ActorOption = "cli",
    at: AtOption = None,
    yes: Yes = False,
    as_json: JsonFlag = False,
) -> None:
    """Withdraw every case found (opened by mistake): it ends where it stands, its timers cancelled and its deadlines withdrawn."""
    query = _query(workflow, version, authority, nation, state, status=status, where=where, started_from=started_from, started_to=started_to, missed=missed)
    with engine_for(ctx) as engine:
        report = withdraw_cases(engine, query, reason=reason, actor=actor, at=at, apply=yes, op_id=operation, on_item=_printer(as_json, yes))
    _show(as_json, report)


@bulk_app.command("reassign")
@refusals
def reassign_command(
    ctx: typer.Context,
    from_actor: Annotated[str, typer.Option("--from", help="Who answers for the pending work now.")],
    to_actor: Annotated[str, typer.Option("--to", help="Who is to answer for it.")],
    workflow: Workflow = None,
    version: Version = None,
    authority: Authority = None,
    nation: Nation = None,
    state: State = None,
    status: Status = None,
    where: Where = None,
    started_from: StartedFrom = None,
    started_to: StartedTo = None,
    missed: Missed = None,
    reason: Reason = None,
    operation: Operation = None,
    actor: ActorOption = "cli",
    at: AtOption = None,
    yes: Yes = False,
    as_json: JsonFlag = False,
) -> None:
    """Make another actor responsible for the pending work (armed timers, standing deadlines) of every case found that --from answers for."""
    query = _query(workflow, version, authority, nation, state, status=status, where=where, started_from=started_from, started_to=started_to, missed=missed)
    with engine_for(ctx) as engine:
        report = reassign(
            engine,
            query,
            from_actor=from_actor,
            to_actor=to_actor,
            actor=actor,
            at=at,
            reason=reason,
            apply=yes,
            op_id=operation,
            on_item=_printer(as_json, yes),
        )
    _show(as_json, report)


__all__ = ["bulk_app"]
