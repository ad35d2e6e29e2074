"""`laworkflow checkpoint`: sign the store's current log (size and Merkle root) for keeping elsewhere.

    laworkflow checkpoint keygen --out checkpoint-key.pem   # once; then export LAWORKFLOW_CHECKPOINT_KEY
    laworkflow checkpoint --out kept.checkpoint             # print or write a signed checkpoint
    laworkflow verify --checkpoint kept.checkpoint          # later: prove the log only grew since

The checkpoint is only as good as where it is kept: a copy beside the store can
be rolled back with it. `audit.checkpoint` says what the text is.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from laworkflow.audit import checkpoint as checkpoints
from laworkflow.audit.leaves import log_leaves
from laworkflow.cli.support import JsonFlag, emit, engine_for, refusals

checkpoint_app = typer.Typer(
    invoke_without_command=True, help=f"Sign the log's size and Merkle root with the operator's Ed25519 key (${checkpoints.KEY_ENV}); keep it elsewhere."
)

OutOption = Annotated[Path | None, typer.Option("--out", help="Write the signed checkpoint to this file instead of printing it.")]


@checkpoint_app.callback()
@refusals
def checkpoint(ctx: typer.Context, out: OutOption = None, as_json: JsonFlag = False) -> None:
    """Print (or write) a signed checkpoint of the store's whole log: origin, tree size, root, signature."""
    if ctx.invoked_subcommand is not None:
        return
    key = checkpoints.signer_from_file()
    with engine_for(ctx) as engine:
        current = checkpoints.current(log_leaves(engine.recorder, engine.mapper))
    note = checkpoints.sign(current, key)
    if out is not None:
        out.write_text(note, encoding="utf-8")
    emit(as_json, {**current.to_dict(), "note": note}, f"wrote {out.name}: {current.size} events" if out is not None else note.rstrip("\n"))


@checkpoint_app.command("keygen")
@refusals
def keygen(out: Annotated[Path, typer.Option("--out", help="The new private key's PEM file (mode 0600); refuses to overwrite.")]) -> None:
    """Write a new Ed25519 private key for signing checkpoints; point LAWORKFLOW_CHECKPOINT_KEY at it."""
    try:
        descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        raise checkpoints.CheckpointError(f"cannot create {out.name!r}: {error.strerror}") from None
    with os.fdopen(descriptor, "wb") as file:
        file.write(checkpoints.new_key_pem())
    typer.echo(f"wrote {out.name}; set {checkpoints.KEY_ENV} to its path (keep it secret), and give verifiers its public key")


@checkpoint_app.command("public-key")
@refusals
def public_key(out: OutOption = None) -> None:
    """Print (or write) the public key of $LAWORKFLOW_CHECKPOINT_KEY: all a verifier needs."""
    pem = checkpoints.public_pem(checkpoints.signer_from_file())
    if out is not None:
        out.write_bytes(pem)
    else:
        typer.echo(pem.decode("ascii").rstrip("\n"))
