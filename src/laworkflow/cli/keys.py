"""`laworkflow keys`: issue, revoke and list the API keys of a store.

Mounted by the main CLI (`app.add_typer(keys_app, name="keys")`). It follows
the CLI's conventions: `--json` prints one JSON document, a refusal prints one
line starting `error:` and exits 1 with nothing written. The CLI reaches the
store directly, so it is how the first admin key is issued:

    laworkflow keys issue ops --role admin      # prints the key, once
    laworkflow keys list
    laworkflow keys revoke ops

Shared helpers come from `laworkflow.cli.support`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from laworkflow.cli.support import ActorOption, JsonFlag, emit, engine_for, refusals
from laworkflow.keys import ROLES, Keys

keys_app = typer.Typer(no_args_is_help=True, help="API keys for the HTTP API: issue, revoke, list (only digests are stored).")


@keys_app.command("issue")
@refusals
def issue(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Whose key: recorded as the actor of every write made with it; never reused.")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
    actor: ActorOption = "cli",
    as_json: JsonFlag = False,
) -> None:
    """Issue a key and print it: the only time it is shown (only its SHA-256 digest is stored)."""

    with engine_for(ctx) as engine:
        key = Keys(engine).issue(name, role, by=actor)
    if not as_json:
        typer.echo(f"key for {name!r} ({role}); store it now, it is not shown again:", err=True)
    emit(as_json, {"name": name, "role": role, "key": key}, key)


@keys_app.command("revoke")
@refusals
def revoke(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The key's name.")],
    actor: ActorOption = "cli",
    as_json: JsonFlag = False,
) -> None:
    """Revoke a key: the next request made with it is refused."""

    with engine_for(ctx) as engine:
        keys = Keys(engine)
        keys.revoke(name, by=actor)
        entry = next(k for k in keys.list() if k["name"] == name)
    emit(as_json, entry, f"revoked {name} ({entry['role']})")


@keys_app.command("list")
@refusals
def list_keys(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Every key ever issued: name, role, when, revoked or not (never the key itself)."""
    from laworkflow.calendar.clock import LONDON

    with engine_for(ctx) as engine:
        entries = Keys(engine).list()
    text = "\n".join(
        f"{k['name']:<28} {k['role']:<10} issued {k['issued_at'].astimezone(LONDON):%Y-%m-%d %H:%M}{'  revoked' if k['revoked'] else ''}" for k in entries
    )
    emit(as_json, {"keys": entries}, text or "no keys")


__all__ = ["keys_app"]
