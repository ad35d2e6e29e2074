"""`laworkflow export`, `laworkflow import` and `laworkflow audit verify`: a record taken away, checked and restored.

    laworkflow export --out record.zip                       # the whole log (a complete bundle)
    laworkflow export --out kent.zip --authority Kent        # some cases (a filtered bundle)
    laworkflow audit verify record.zip --public-key op.pem   # no store needed
    laworkflow --store new.sqlite import record.zip          # into an empty store

The work is in `laworkflow.audit` (`export`, `offline`, `restore`); this module reads options and prints.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from laworkflow.audit import bundle, offline, restore
from laworkflow.audit.export import Selection, export
from laworkflow.cli.audit import audit_app
from laworkflow.cli.progress import bar
from laworkflow.cli.root import app
from laworkflow.cli.support import JsonFlag, case_id_of, emit, engine_for, refusals
from laworkflow.errors import InvalidData

PublicKeyOption = Annotated[
    Path | None, typer.Option("--public-key", help="The operator's Ed25519 public key PEM (laworkflow checkpoint public-key): the signature must be by it.")
]


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidData(f"{option} takes a date (YYYY-MM-DD), got {text!r}") from None


def _public_key(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as error:
        raise InvalidData(f"cannot read public key {path.name!r}: {error.strerror}") from None


@app.command("export")
@refusals
def export_command(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="The bundle file to write (a zip).")],
    case: Annotated[list[str] | None, typer.Option("--case", help="Only this case (id or unique prefix); repeatable.")] = None,
    authority: Annotated[str | None, typer.Option("--authority", help="Only cases started for this authority.")] = None,
    workflow: Annotated[str | None, typer.Option("--workflow", help="Only cases on this definition: ID or ID@VERSION.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="Only cases started on or after this UK day (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Only cases started on or before this UK day (YYYY-MM-DD).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Write the log (or the selected cases) as one bundle: events with inclusion proofs, the signed checkpoint, the pinned definitions, a manifest."""
    first, last = _day(start, "--from"), _day(end, "--to")
    with engine_for(ctx) as engine:
        cases = tuple(case_id_of(engine, text) for text in case or [])
        with bar(f"exporting to {out.name}", as_json=as_json):
            done = export(engine, out, Selection(cases, authority, workflow, first, last))
    kind = "complete" if done.complete else "filtered"
    signed = "signed checkpoint" if done.signed else "unsigned tree head (no $LAWORKFLOW_CHECKPOINT_KEY)"
    emit(
        as_json,
        {k: str(v) if isinstance(v, Path) else v for k, v in vars(done).items() if k != "manifest"},
        f"wrote {out.name}: {kind} bundle, {done.events} events of {done.cases} cases, {done.definitions} definitions; tree size {done.tree_size}, {signed}",
    )


@audit_app.command("verify")
@refusals
def verify_command(
    path: Annotated[Path, typer.Argument(help="The bundle file (laworkflow export).")],
    public_key: PublicKeyOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Check a bundle with no store: digests, leaves, inclusion proofs, signature, chains, definitions; exit 1 on any problem."""
    report = offline.verify(bundle.read(path), _public_key(public_key))
    emit(as_json, report.to_json(), "\n".join(report.lines()))
    if not report.ok:
        raise typer.Exit(1)


@app.command("import")
@refusals
def import_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A complete bundle (laworkflow export with no filter).")],
    public_key: PublicKeyOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Restore a complete, verified bundle into an EMPTY store: the same events, ids, tree and root."""
    with bar(f"reading {path.name}", as_json=as_json, total=3) as progress:
        members = bundle.read(path)
        progress.step("verifying the bundle")
        report = offline.verify(members, _public_key(public_key))
        progress.step("restoring the events")
        with engine_for(ctx) as engine:
            done = restore.restore(engine, members, report)
        progress.step("imported")
    emit(as_json, done, f"imported {done['events']} events of {done['cases']} cases; tree size {done['tree_size']}, root {done['root']}")
