"""`laworkflow encryption`: a new key for encryption at rest, and whether the configured key fits a store.

    laworkflow encryption keygen --out store.key        # once, mode 0600; then LAWORKFLOW_CIPHER_KEY_FILE=store.key
    laworkflow encryption keygen                        # or print it, for a secret manager: LAWORKFLOW_CIPHER_KEY=…
    laworkflow encryption check                         # the store opens with the configured key (or none)

A key is printed only by `keygen`, which asks for nothing else; `laworkflow.encryption`
says what is encrypted, and what is not.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from laworkflow import encryption
from laworkflow.cli.support import JsonFlag, emit, engine_for, refusals

encryption_app = typer.Typer(help=f"Encryption at rest (AES-GCM, eventsourcing's cipher): ${encryption.KEY_ENV} or ${encryption.KEY_FILE_ENV} switches it on.")


@encryption_app.command("keygen")
@refusals
def keygen(
    out: Annotated[Path | None, typer.Option("--out", help="Write the key to this new file (mode 0600; refuses to overwrite) instead of printing it.")] = None,
    size: Annotated[int, typer.Option("--bytes", help="Key length in bytes: 16, 24 or 32 (AES-128, -192, -256).")] = 32,
) -> None:
    """Print (or write) a new random AES key, base64: the value of LAWORKFLOW_CIPHER_KEY, or the content of LAWORKFLOW_CIPHER_KEY_FILE."""
    key = encryption.new_key(size)
    if out is None:
        typer.echo(key)
        return
    try:
        descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        raise encryption.CipherKeyError(f"cannot create {out.name!r}: {error.strerror}") from None
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(key + "\n")
    typer.echo(
        f"wrote {out.name}; set {encryption.KEY_FILE_ENV} to its path before the store's first event (keep it secret, and a copy safe: without it the store cannot be read)"
    )


@encryption_app.command("check")
@refusals
def check(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Open the store with the configured key (or none) and say whether its events are encrypted; refuses when they do not fit."""
    with engine_for(ctx) as engine:
        encrypted = engine.mapper.cipher is not None
        events = engine.recorder.max_notification_id() or 0
    text = f"{events} events; " + ("encrypted at rest (AES-GCM), and the configured key reads them" if encrypted else "not encrypted at rest")
    emit(as_json, {"encrypted": encrypted, "events": events}, text)
