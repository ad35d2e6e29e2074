"""/workflows and /workflows/{id}/{version}: each definition's diagram, and every rule with its citation and the sentence it rests on."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from laworkflow.definitions.catalog import Catalog
from laworkflow.definitions.model import Citation, Definition
from laworkflow.errors import LaworkflowError
from laworkflow.http.auth import served
from laworkflow.http.errors import STATUS
from laworkflow.http.web.access import User, web
from laworkflow.pictures import state_diagram_svg

router = APIRouter(include_in_schema=False)


def _cited(catalog: Catalog, definition: Definition, citation: Citation | None) -> dict[str, Any] | None:
    """A citation as the page shows it: the source's title, the paragraph, the reading chosen, and the quoted sentence."""
    if citation is None:
        return None
    source = definition.sources.get(citation.source)
    return {
        "source": source.title if source else citation.source,
        "file": source.file if source else None,
        "para": citation.para,
        "choice": citation.choice,
        "quote": catalog.quotes.quote_for(definition, citation),
    }


def _rules(catalog: Catalog, definition: Definition) -> dict[str, list[dict[str, Any]]]:
    """Every state, transition, timer and deadline, each with what it says and where it comes from."""

    def cite(citation: Citation | None) -> dict[str, Any] | None:
        return _cited(catalog, definition, citation)

    return {
        "states": [
            {
                "name": name,
                "what": state.description,
                "extra": ", ".join(filter(None, ["terminal" if state.terminal else "", state.status or ""])),
                "cites": cite(state.cites),
            }
            for name, state in definition.states.items()
        ],
        "transitions": [
            {
                "name": t.trigger,
                "what": t.description,
                "extra": f"from {', '.join(t.source)} to {t.to or 'the same state'}"
                + (f"; {len(t.guards)} guard{'s' if len(t.guards) > 1 else ''}" if t.guards else "")
                + ("; engine only" if t.internal else ""),
                "cites": cite(t.cites),
            }
            for t in definition.transitions
        ],
        "timers": [{"name": t.id, "what": t.description, "extra": f"in {t.state}, fires {t.fires} {t.due}", "cites": cite(t.cites)} for t in definition.timers],
        "deadlines": [
            {
                "name": d.id,
                "what": d.description,
                "extra": f"due {d.due}"
                + (f", target {d.target}" if d.target else "")
                + (f", not before {d.earliest}" if d.earliest else "")
                + f"; set by {', '.join(d.set_by)}, met by {', '.join(d.met_by)}",
                "cites": cite(d.cites),
            }
            for d in definition.deadlines
        ],
    }


@router.get("/workflows")
def workflow_list(request: Request, user: User) -> Response:
    definitions = [compiled.definition for compiled in served(request).engine.catalog]
    return web(request).pages.render(request, "workflows.html", user=user, title="Workflows", definitions=definitions)


@router.get("/workflows/{workflow}/{version}")
def workflow_page(request: Request, user: User, workflow: Annotated[str, Path(max_length=80)], version: Annotated[str, Path(max_length=9)]) -> Response:
    catalog = served(request).engine.catalog
    try:
        definition = catalog.get(workflow, int(version) if version.isdigit() else -1).definition
    except LaworkflowError as problem:
        return web(request).pages.render(
            request, "error.html", status=STATUS.get(problem.code, 404), user=user, title="Workflow not found", message=str(problem), back="/workflows"
        )
    return web(request).pages.render(
        request,
        "workflow.html",
        user=user,
        title=definition.title,
        definition=definition,
        rules=_rules(catalog, definition),
        window_cites=_cited(catalog, definition, definition.in_force_cites),
        diagram=state_diagram_svg(definition, title=f"States of {definition.id}@{definition.version}"),
    )


__all__ = ["router"]
