"""`laworkflow risk`: termly risk assessments, the concerns they raise, the inspections they start.

Mounted by `laworkflow.cli` (`app.add_typer(risk_app, name="risk")`); the
shared helpers come from `laworkflow.cli.support`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from laworkflow.cli.support import ActorOption, JsonFlag, emit, engine_for, refusals
from laworkflow.errors import InvalidData

risk_app = typer.Typer(no_args_is_help=True, help="Risk triggers: termly RAG assessments per authority, concerns, inspections.")


def _outcome_text(outcome: dict[str, Any]) -> str:
    head = f"{outcome['authority']:<16} {outcome['name']:<28} {outcome['term']:<12}"
    if not outcome["concern"]:
        return f"{head} no concern"
    case = f"  case {outcome['case_id']}" if outcome["case_id"] else ""
    return f"{head} CONCERN: {', '.join(outcome['criteria'])}{case}"


def _authority_text(view: dict[str, Any]) -> str:
    lines = [f"{view['name']} ({view['code']}, {view['nation']})"]
    latest = view["latest"]
    if latest is None:
        lines.append("  not assessed yet")
    else:
        lines.append(f"  latest: {latest['term']} (assessed {latest['assessed_on']})")
        for criterion, trend in view["trend"].items():
            moved = f", {trend['since_previous']} since {trend['previous_rag']}" if trend["since_previous"] else ""
            reported = f", trend {trend['reported']}" if trend["reported"] else ""
            lines.append(f"    {criterion:<40} {trend['rag']}{reported}{moved}")
        lines.append(f"  assessed terms: {', '.join(a['term'] for a in view['assessments'])}")
    for concern in view["concerns"]:
        case = f", case {concern['case_id']}" if concern["case_id"] else ""
        lines.append(f"  concern {concern['term']}: {', '.join(concern['criteria'])}{case}")
    return "\n".join(lines)


@risk_app.command("assess")
@refusals
def assess(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV (authority,term,assessed_on,criterion,rag,trend,comment) or JSON list of assessments.")],
    start_inspections: Annotated[bool, typer.Option("--start-inspections", help="Start an inspection case for each concern raised.")] = False,
    red: Annotated[int, typer.Option("--red", help="Reds that raise a concern.")] = 1,
    ambers: Annotated[int, typer.Option("--ambers", help="Ambers (or worse) that raise a concern.")] = 3,
    workflow: Annotated[str, typer.Option("--workflow", help="The inspection workflow a concern starts.")] = "ofsted-laassi",
    actor: ActorOption = "cli",
    as_json: JsonFlag = False,
) -> None:
    """Record a file of termly assessments; all of it or, on any problem, nothing."""
    from laworkflow.risk import ConcernRule, RiskRegister, load_assessments

    try:
        rule = ConcernRule(red_at_least=red, amber_at_least=ambers)
    except ValidationError:
        raise InvalidData(f"--red and --ambers must be at least 1 (got --red {red} --ambers {ambers})") from None
    assessments = load_assessments(file)
    with engine_for(ctx) as engine:
        outcomes = RiskRegister(engine).assess_all(assessments, rule=rule, actor=actor, start_inspection=start_inspections, workflow=workflow)
    rows = [o.to_dict() for o in outcomes]
    document: dict[str, Any] = {
        "file": str(file),
        "rule": {**rule.model_dump(), "description": rule.describe()},
        "assessments": rows,
        "count": len(rows),
        "concerns": sum(1 for r in rows if r["concern"]),
        "cases": [r["case_id"] for r in rows if r["case_id"]],
    }
    summary = f"{document['count']} assessed, {document['concerns']} concern(s), {len(document['cases'])} case(s) started"
    emit(as_json, document, "\n".join([*(_outcome_text(r) for r in rows), summary]))


@risk_app.command("show")
@refusals
def show(ctx: typer.Context, authority: Annotated[str, typer.Argument(help="Code (931) or name (Oxfordshire).")], as_json: JsonFlag = False) -> None:
    """An authority's latest ratings and trend, every assessed term, its concerns and the cases they started."""
    from laworkflow.risk import RiskRegister

    with engine_for(ctx) as engine:
        view = RiskRegister(engine).authority(authority).to_dict()
    emit(as_json, view, _authority_text(view))
