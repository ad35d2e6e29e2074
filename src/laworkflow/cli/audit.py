"""`laworkflow audit …`: what an auditor runs on a record — a bundle checked with no store, a store's cases replayed.

The group lives here; its commands are added by the modules that own them
(`cli.bundles`: `audit verify`; `cli.replay`: `audit replay`), imported by `cli/__init__`.
"""

from __future__ import annotations

import typer

audit_app = typer.Typer(no_args_is_help=True, help="Check a record as an auditor: verify an exported bundle offline, replay cases against their definitions.")

__all__ = ["audit_app"]
