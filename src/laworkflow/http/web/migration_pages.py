"""/migrations: what moving running cases onto another version would do, case by case — the plan `laworkflow migrate plan`
prints, for a back office that reads before it acts. Read only: applying a plan is `laworkflow migrate apply`, with a reason."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from laworkflow.errors import LaworkflowError
from laworkflow.http.auth import served
from laworkflow.http.web.access import User, web
from laworkflow.migration import plan

router = APIRouter(include_in_schema=False)


@router.get("/migrations")
def migration_page(
    request: Request,
    user: User,
    source: Annotated[str, Query(alias="from", max_length=90)] = "",
    target: Annotated[str, Query(alias="to", max_length=90)] = "",
    at: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """The form, and with both versions given the plan: per case its state, parameters, timers and deadlines, and who cannot move."""
    service = served(request)
    planned, problem = None, None
    if source or target:
        try:
            planned = service.locked(plan, service.engine, source, target, at=at or None)
        except LaworkflowError as error:
            problem = str(error)
    return web(request).pages.render(
        request,
        "migration.html",
        status=400 if problem else 200,
        user=user,
        title="Migrating running cases",
        params={"from": source, "to": target, "at": at},
        plan=planned,
        problem=problem,
        workflows=[compiled.key for compiled in service.engine.catalog],
    )


__all__ = ["router"]
