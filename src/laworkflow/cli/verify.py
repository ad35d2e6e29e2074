"""`laworkflow verify` (the record checked: chains, stray fields, snapshots, with options a kept checkpoint and the timer index)
and `laworkflow index rebuild` (the timer index folded again from the log)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from laworkflow.audit import checkpoint as checkpoints
from laworkflow.audit.index import rebuild_index
from laworkflow.audit.leaves import log_leaves
from laworkflow.audit.snapshots import delete_snapshot
from laworkflow.audit.verify import verify as verify_record
from laworkflow.cases.views import IndexCheck, IndexRow
from laworkflow.cli.progress import bar
from laworkflow.cli.root import app
from laworkflow.cli.support import JsonFlag, case_id_of, emit, engine_for, refusals

index_app = typer.Typer(no_args_is_help=True, help="The timer index, a projection of the log: rebuild it.")


def _row(label: str, row: IndexRow) -> str:
    item = row.stored or row.rebuilt
    due = f"due {item.due_at.isoformat()}" if item is not None else ""
    return f"     index {label}: {row.kind} {row.name!r} of case {row.case_id} {due}".rstrip()


def _index_lines(check: IndexCheck) -> list[str]:
    head = f"{'ok  ' if check.ok else 'FAIL'} timer index  {check.rows} rows at log position {check.position}"
    lines = [head, *(f"     {p}" for p in check.problems)]
    lines += [_row("missing (the log arms it)", r) for r in check.missing]
    lines += [_row("extra (nothing in the log arms it)", r) for r in check.extra]
    lines += [_row("changed", r) + f" (rebuilt: due {r.rebuilt.due_at.isoformat() if r.rebuilt else '?'})" for r in check.changed]
    return lines


@app.command()
@refusals
def verify(
    ctx: typer.Context,
    case: Annotated[str | None, typer.Argument()] = None,
    checkpoint: Annotated[Path | None, typer.Option("--checkpoint", help="A kept signed checkpoint: prove today's log extends it.")] = None,
    public_key: Annotated[
        Path | None, typer.Option("--public-key", help="The checkpoint signer's public key PEM (else derived from $LAWORKFLOW_CHECKPOINT_KEY).")
    ] = None,
    index: Annotated[bool, typer.Option("--index", help="Also compare the timer index with one rebuilt from the log.")] = False,
    repair: Annotated[bool, typer.Option("--repair", help="Delete snapshots that disagree with the events; with --index, rebuild a wrong index.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Prove no stored event was altered: recompute every digest and the chain, look for stray fields and forged snapshots; exit 1 if any fails.

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
    repaired: list[str] = []
    with engine_for(ctx) as engine:
        report = verify_record(engine, case_id_of(engine, case) if case is not None else None, index=index)
        leaves = log_leaves(engine.recorder, engine.mapper) if kept is not None else []
        if repair:
            for snapshot in report.snapshots:
                delete_snapshot(engine, snapshot)
                repaired.append(f"deleted the snapshot of {snapshot.originator_id} at version {snapshot.version}")
            if report.index is not None and not report.index.ok:
                repaired.append(f"rebuilt the timer index from the log: {rebuild_index(engine)} rows")
    lines = [f"{'ok  ' if c.ok else 'FAIL'} {c.case_id}  {c.events} events  head {c.head_hash}" for c in report.cases]
    lines += [f"     {p}" for c in report.cases for p in c.problems]
    lines += [f"FAIL {p}" for p in report.log]
    lines += [f"FAIL {s.originator_id}  {p}" for s in report.snapshots for p in s.problems]
    if report.index is not None:
        lines += _index_lines(report.index)
    lines += [f"repaired: {r}" for r in repaired]
    document: dict[str, Any] = report.to_dict()
    if repair:
        document["repaired"] = repaired
    if kept is not None:
        now = checkpoints.check_extends(kept, leaves)  # LogNotExtended: one line, exit 1
        lines.append(f"ok   log extends the checkpoint: {kept.size} -> {now.size} events, root {now.root.hex()}")
        document["checkpoint"] = {"kept": kept.to_dict(), "now": now.to_dict()}
    emit(as_json, document, "\n".join(lines) or "no cases")
    if not report.ok:
        raise typer.Exit(1)


@index_app.command("rebuild")
@refusals
def rebuild(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Forget the timer index and fold it again from the whole log (the outbox and other positions stay; nothing sent is sent again)."""
    with engine_for(ctx) as engine, bar("rebuilding the timer index", as_json=as_json):
        rows = rebuild_index(engine)
    emit(as_json, {"rows": rows}, f"timer index rebuilt from the log: {rows} rows")


__all__ = ["index_app", "verify"]
