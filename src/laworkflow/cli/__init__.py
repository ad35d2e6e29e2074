"""The command-line face, `laworkflow`: one module per command group, shared helpers in `support`."""

from laworkflow.cli import bundles as _bundles  # noqa: F401  (export, import, audit verify)
from laworkflow.cli import calendar as _calendar  # noqa: F401
from laworkflow.cli import case_list as _case_list  # noqa: F401  (cases)
from laworkflow.cli import cases as _cases  # noqa: F401

# Each module adds its commands to `app` when imported; HELP_ORDER below keeps `laworkflow --help` as it was.
from laworkflow.cli import definitions as _definitions  # noqa: F401
from laworkflow.cli import queries as _queries  # noqa: F401
from laworkflow.cli import replay as _replay  # noqa: F401  (audit replay)
from laworkflow.cli import serve as _serve  # noqa: F401
from laworkflow.cli import simulate as _simulate  # noqa: F401
from laworkflow.cli import verify as _verify  # noqa: F401
from laworkflow.cli.audit import audit_app
from laworkflow.cli.bulk import bulk_app
from laworkflow.cli.checkpoint import checkpoint_app
from laworkflow.cli.encryption import encryption_app
from laworkflow.cli.keys import keys_app
from laworkflow.cli.quarantine import quarantine_app
from laworkflow.cli.risk import risk_app
from laworkflow.cli.root import app, main
from laworkflow.cli.verify import index_app

HELP_ORDER = [
    "start",
    "fire",
    "show",
    "history",
    "allowed",
    "cases",
    "due",
    "register",
    "upcoming",
    "calendar",
    "simulate",
    "serve",
    "verify",
    "export",
    "import",
    "demo",
]
app.registered_commands.sort(key=lambda command: HELP_ORDER.index(command.name or command.callback.__name__))  # type: ignore[union-attr]
from laworkflow.cli import migrate as _migrate  # noqa: F401, E402  (migrate plan, apply, offers)
from laworkflow.cli import pictures as _pictures  # noqa: F401, E402  (diagram, timeline: listed after the commands above)

app.add_typer(risk_app, name="risk")
app.add_typer(keys_app, name="keys")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(index_app, name="index")
app.add_typer(checkpoint_app, name="checkpoint")
app.add_typer(encryption_app, name="encryption")
app.add_typer(audit_app, name="audit")
app.add_typer(bulk_app, name="bulk")

__all__ = ["app", "main"]
