"""/cases and /cases/{id}: find cases, read one (diagram, timeline, history, what it may do now), and fire a trigger."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from laworkflow.audit.verify import verify
from laworkflow.engine import Engine
from laworkflow.errors import InvalidData, LaworkflowError
from laworkflow.http.auth import case_id, case_id_held, served
from laworkflow.http.errors import STATUS
from laworkflow.http.web.access import User, may_send, web
from laworkflow.http.web.forms import read_data
from laworkflow.http.web.session import WebUser
from laworkflow.pictures import state_diagram_svg, steps_from_history, timeline_from_history, timeline_svg
from laworkflow.projections.case_search import SORTS, CaseQuery

router = APIRouter(include_in_schema=False)
CaseText = Annotated[str, Path(max_length=64)]
FILTERS = ("workflow", "version", "authority", "nation", "state", "status", "started_from", "started_to", "moved_from", "moved_to", "missed", "sort")


def _query(params: dict[str, str], where: list[str], after: str | None) -> CaseQuery:
    """The search the filter form asks for; a filter that cannot be read is InvalidData (a 422 page), as the API's would be."""
    version = params.get("version") or None
    if version is not None and not version.isdigit():
        raise InvalidData(f"version: a whole number, got {version[:20]!r}")
    missed = {"yes": True, "no": False}.get(params.get("missed", ""))
    return CaseQuery(
        workflow=params.get("workflow") or None,
        version=int(version) if version else None,
        authority=params.get("authority") or None,
        nation=params.get("nation") or None,
        state=params.get("state") or None,
        status=params.get("status") or None,
        where=tuple(w for w in where if w.strip()),
        started_from=params.get("started_from") or None,
        started_to=params.get("started_to") or None,
        moved_from=params.get("moved_from") or None,
        moved_to=params.get("moved_to") or None,
        missed=missed,
        sort=params.get("sort") or "-moved",
        after=after or None,
    )


@router.get("/cases")
def case_list(request: Request, user: User, where: Annotated[list[str], Query()] = [], after: str = "") -> Response:  # noqa: B006 - FastAPI reads the default, never mutates it
    service = served(request)
    params = {name: request.query_params.get(name, "").strip()[:200] for name in FILTERS}
    workflows = sorted({w.definition.id for w in service.engine.catalog})
    try:
        page = service.locked(service.engine.cases, _query(params, where, after))
        error, status = None, 200
    except LaworkflowError as problem:
        page, error, status = None, str(problem), STATUS.get(problem.code, 400)
    return web(request).pages.render(
        request,
        "cases.html",
        status=status,
        user=user,
        title="Cases",
        page=page,
        params=params,
        where=" ".join(w for w in where if w.strip()) if where else "",
        where_list=[w for w in where if w.strip()],
        workflows=workflows,
        sorts=SORTS,
        error=error,
    )


def _case_context(engine: Engine, cid: UUID) -> dict[str, Any]:
    """Everything the case page shows, read under one hold of the engine's lock."""
    view = engine.get(cid)
    history = engine.history(cid)
    compiled = engine.pinned(view.workflow, view.version, view.definition_hash)
    (check,) = verify(engine, cid).cases
    parent = engine.summary(UUID(view.parent)) if view.parent else None
    children = [(child, engine.summary(UUID(child["id"]))) for child in view.children]
    return {
        "case": view,
        "summary": engine.summary(cid),
        "history": history,
        "check": check,
        "allowed": engine.allowed_triggers(cid),
        "today": engine.today(),
        "parent": parent,
        "children": children,
        "definition": compiled.definition,
        "diagram": state_diagram_svg(
            compiled.definition, steps=steps_from_history(history), current=view.state, title=f"States of {view.workflow}@{view.version}"
        ),
        "timeline": timeline_svg(timeline_from_history(history), today=engine.today(), title="Deadlines and milestones"),
    }


def _case_page(request: Request, user: WebUser, case: str, *, status: int = 200, **extra: Any) -> Response:
    service = served(request)
    try:
        cid = case_id(service, case)
        context = service.locked(_case_context, service.engine, cid)
    except LaworkflowError as problem:
        code = STATUS.get(problem.code, 400)
        return web(request).pages.render(
            request,
            "error.html",
            status=code,
            user=user,
            title="Case not found" if code == 404 else "Cannot show this case",
            message=str(problem),
            back="/cases",
        )
    title = f"{(context['summary'].authority if context['summary'] else None) or 'Case'} – {context['case'].workflow}"
    return web(request).pages.render(request, "case.html", status=status, user=user, title=title, **context, **extra)


@router.get("/cases/{case}")
def case_page(request: Request, user: User, case: CaseText) -> Response:
    return _case_page(request, user, case)


@router.post("/cases/{case}/fire")
async def fire(request: Request, user: User, case: CaseText) -> Response:
    """Fire the trigger a form names, with its fields; refused (with why, and nothing written) unless the engine allows it."""
    form = await request.form()
    may_send(user, str(form.get("csrf") or ""), acting=True)
    trigger = str(form.get("trigger") or "")[:80]
    at = str(form.get("at") or "").strip() or None
    service = served(request)

    def run() -> UUID:  # under the lock already
        cid = case_id_held(service.engine, case)
        offered = {t.trigger: t for t in service.engine.allowed_triggers(cid)}
        fields = offered[trigger].fields if trigger in offered else {}
        service.engine.fire(cid, trigger, read_data(form, fields), actor=user.name, at=at)  # the engine refuses a trigger not allowed
        return cid

    try:
        cid = await run_in_threadpool(service.locked, run)
    except LaworkflowError as problem:
        return await run_in_threadpool(
            _case_page,
            request,
            user,
            case,
            status=STATUS.get(problem.code, 400),
            error=f"{trigger or 'No trigger'} was refused: {problem}",
            error_href=f"#trigger-{trigger}",
            failed=trigger,
        )
    return RedirectResponse(f"/cases/{cid}?fired={trigger}", status_code=303)


__all__ = ["router"]
