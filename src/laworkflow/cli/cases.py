"""Commands on one case: start, fire, show, history, allowed, verify."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from laworkflow.audit import checkpoint as checkpoints
from laworkflow.audit.leaves import log_leaves
from laworkflow.calendar.clock import LONDON
from laworkflow.cli.root import app
from laworkflow.cli.support import ActorOption, AtOption, JsonFlag, case_id_of, case_text, command_data, emit, engine_for, parse_params, refusals
from laworkflow.simulation import demo as demo_module


@app.command()
@refusals
def start(
    ctx: typer.Context,
    workflow: str,
    data: Annotated[str | None, typer.Option("--data", help="Start data: JSON, or @FILE.")] = None,
    version: Annotated[int | None, typer.Option(help="Definition version; default the latest.")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="Override a parameter, NAME=VALUE (repeatable).")] = None,
    actor: ActorOption = "cli",
    at: AtOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Start a case; prints it."""
    with engine_for(ctx) as engine:
        case_id = engine.start(workflow, command_data(ctx, data), version=version, actor=actor, at=at, parameters=parse_params(param or []))
        view = engine.get(case_id).to_dict()
    emit(as_json, view, case_text(view))


@app.command()
@refusals
def fire(
    ctx: typer.Context,
    case: str,
    trigger: str,
    data: Annotated[str | None, typer.Option("--data", help="Trigger data: JSON, or @FILE.")] = None,
    actor: ActorOption = "cli",
    at: AtOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Fire a trigger on a case; prints the case after it."""
    with engine_for(ctx) as engine:
        view = engine.fire(case_id_of(engine, case), trigger, command_data(ctx, data), actor=actor, at=at).to_dict()
    emit(as_json, view, case_text(view))


@app.command()
@refusals
def show(
    ctx: typer.Context,
    case: str,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Show the case as it stood then (ISO date or time).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """A case now, or as it stood on a past date."""
    with engine_for(ctx) as engine:
        view = engine.get(case_id_of(engine, case), as_of=as_of).to_dict()
    emit(as_json, view, case_text(view))


@app.command()
@refusals
def history(ctx: typer.Context, case: str, as_json: JsonFlag = False) -> None:
    """Every event of a case, in order, with who, when it took effect and when it was recorded (UK time)."""
    with engine_for(ctx) as engine:
        case_id = case_id_of(engine, case)
        entries = engine.history(case_id)
    rows = [e.to_dict() for e in entries]
    text = "\n".join(
        f"{e.version:>4}  {e.effective_at.astimezone(LONDON):%Y-%m-%d %H:%M}  recorded {e.recorded_at.astimezone(LONDON):%Y-%m-%d %H:%M}"
        f"  {e.actor:<24} {demo_module.describe(e)}"
        for e in entries
    )
    emit(as_json, {"case_id": str(case_id), "events": rows}, text)


@app.command()
@refusals
def allowed(ctx: typer.Context, case: str, as_json: JsonFlag = False) -> None:
    """The triggers a case may take now, with the data each requires."""
    with engine_for(ctx) as engine:
        case_id = case_id_of(engine, case)
        state = engine.get(case_id).state
        triggers = [t.to_dict() for t in engine.allowed_triggers(case_id)]
    text = "\n".join(f"{t['trigger']} -> {t['to']}  data: {', '.join(t['data']) or '-'}" for t in triggers)
    emit(as_json, {"case_id": str(case_id), "state": state, "triggers": triggers}, text or "(none: the case has ended)")


@app.command()
@refusals
def verify(
    ctx: typer.Context,
    case: Annotated[str | None, typer.Argument()] = None,
    checkpoint: Annotated[Path | None, typer.Option("--checkpoint", help="A kept signed checkpoint: prove today's log extends it.")] = None,
    public_key: Annotated[
        Path | None, typer.Option("--public-key", help="The checkpoint signer's public key PEM (else derived from $LAWORKFLOW_CHECKPOINT_KEY).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Prove no stored event was altered: recompute every digest and the chain; exit 1 if any fails.

    With --checkpoint, also prove with a consistency proof that the whole log extends the kept checkpoint.
    """
    kept = None
    if checkpoint is not None:
        public = checkpoints.public_from_file(str(public_key)) if public_key is not None else checkpoints.signer_from_file().public_key()
        try:
            text = checkpoint.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise checkpoints.CheckpointError(f"cannot read checkpoint {checkpoint.name!r}: {error}") from None
        kept = checkpoints.parse(text, public)
    with engine_for(ctx) as engine:
        report = engine.verify(case_id_of(engine, case) if case is not None else None)
        leaves = log_leaves(engine.recorder, engine.mapper) if kept is not None else []
    lines = [f"{'ok  ' if c.ok else 'FAIL'} {c.case_id}  {c.events} events  head {c.head_hash}" for c in report.cases]
    lines += [f"     {p}" for c in report.cases for p in c.problems]
    document = report.to_dict()
    if kept is not None:
        now = checkpoints.check_extends(kept, leaves)  # LogNotExtended: one line, exit 1
        lines.append(f"ok   log extends the checkpoint: {kept.size} -> {now.size} events, root {now.root.hex()}")
        document["checkpoint"] = {"kept": kept.to_dict(), "now": now.to_dict()}
    emit(as_json, document, "\n".join(lines) or "no cases")
    if not report.ok:
        raise typer.Exit(1)
