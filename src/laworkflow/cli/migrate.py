"""`laworkflow migrate plan | apply | offers`: move running cases onto a new version of their workflow (`laworkflow.migration`).

`plan` writes nothing to the store (with --out, only the plan's JSON file).
`apply` takes that file, or the plan's own arguments with --yes, and records
each case's migration in one atomic save; run it again after a crash and it
finishes the rest. Bad input is one line on stderr, exit 1, nothing written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from laworkflow.cli.root import app
from laworkflow.cli.support import ActorOption, JsonFlag, emit, engine_for, refusals
from laworkflow.migration.plan import MigrationError, Plan, apply, offer_notifications, offers, plan, plan_from_dict

migrate_app = typer.Typer(no_args_is_help=True, help="Move running cases onto a new version of their workflow: plan (writes nothing), then apply.")

FromOption = Annotated[str | None, typer.Option("--from", help="The version the cases run on now, WORKFLOW@N.")]
ToOption = Annotated[str | None, typer.Option("--to", help="The version to move them to, WORKFLOW@N.")]
CaseOption = Annotated[list[str] | None, typer.Option("--case", help="Only this case (id or unique prefix); repeatable.")]
DateOption = Annotated[str | None, typer.Option("--at", help="When the migration takes effect (ISO date or time; default now).")]
MapOption = Annotated[list[str] | None, typer.Option("--map", help="OLD=NEW: a state the new version names differently (beside its migrates_from).")]


def _mapping(pairs: list[str]) -> dict[str, str]:
    found = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise MigrationError(f"--map {pair!r}: write OLD=NEW, e.g. --map deferred=phase1_complete")
        found[old.strip()] = new.strip()
    return found


def _arguments(source: str | None, target: str | None) -> tuple[str, str]:
    if not source or not target:
        raise MigrationError("give both --from WORKFLOW@N and --to WORKFLOW@N")
    return source, target


@migrate_app.command("plan")
@refusals
def plan_command(
    ctx: typer.Context,
    source: FromOption = None,
    target: ToOption = None,
    case: CaseOption = None,
    at: DateOption = None,
    mapping: MapOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="Also write the plan as JSON to this file, for migrate apply.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Say, per case, what moving it would do — state, data missing, parameters, each timer and deadline — and which cannot move; writes nothing."""
    source, target = _arguments(source, target)
    with engine_for(ctx) as engine:
        planned = plan(engine, source, target, cases=list(case) if case else None, at=at, mapping=_mapping(mapping or []))
    if out is not None:
        try:
            out.write_text(json.dumps(planned.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        except OSError as error:
            raise MigrationError(f"cannot write the plan to {out.name!r}: {error.strerror or error}") from None
    emit(as_json, planned.to_dict(), planned.text())


def _read_plan(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise MigrationError(f"cannot read the plan {path.name!r}: {getattr(error, 'strerror', None) or error}") from None
    except json.JSONDecodeError as error:
        raise MigrationError(f"the plan {path.name!r} is not JSON (line {error.lineno}: {error.msg})") from None


@migrate_app.command("apply")
@refusals
def apply_command(
    ctx: typer.Context,
    plan_file: Annotated[Path | None, typer.Argument(metavar="[PLAN.json]", help="A plan written by migrate plan --out.")] = None,
    source: FromOption = None,
    target: ToOption = None,
    case: CaseOption = None,
    at: DateOption = None,
    mapping: MapOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Without a plan file: plan with these arguments and apply at once.")] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why the cases move; recorded on each.")] = None,
    actor: ActorOption = "cli",
    as_json: JsonFlag = False,
) -> None:
    """Migrate each case the plan can move (one atomic save per case); cases already moved are skipped, so a rerun finishes the rest."""
    if not reason or not reason.strip():
        raise MigrationError("give --reason: each case records why it was migrated")
    if plan_file is not None and (source or target or case or at or mapping):
        raise MigrationError("give a plan file or the plan's arguments (--from, --to, …) with --yes, not both")
    if plan_file is None and not yes:
        raise MigrationError("give the plan file written by migrate plan --out, or the plan's arguments with --yes")
    document = _read_plan(plan_file) if plan_file is not None else None
    with engine_for(ctx) as engine:
        planned: Plan
        if document is not None:
            planned = plan_from_dict(engine, document)
        else:
            found_source, found_target = _arguments(source, target)
            planned = plan(engine, found_source, found_target, cases=list(case) if case else None, at=at, mapping=_mapping(mapping or []))
        done = apply(engine, planned, actor, reason)
    emit(as_json, done.to_dict(), done.text())


@migrate_app.command("offers")
@refusals
def offers_command(
    ctx: typer.Context,
    on: Annotated[str | None, typer.Option("--on", help="The day to ask about (ISO date; default today).")] = None,
    notify: Annotated[
        bool, typer.Option("--notify", help="Also put a migration_offered notification per case in the outbox, as the service does daily.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """The migrations a version offers from its applies_to_running_from day: each a plan, for the back office to apply or not."""
    with engine_for(ctx) as engine:
        found = offers(engine, on)
        if notify:
            offer_notifications(engine, on)
    text = "\n\n".join(p.text() for p in found) if found else "no version offers a migration for a running case"
    emit(as_json, [p.to_dict() for p in found], text)


app.add_typer(migrate_app, name="migrate")

__all__ = ["migrate_app"]
