"""/attention and /register: what the back office looks at first, across every case."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from laworkflow.calendar.clock import uk_date
from laworkflow.engine import Engine
from laworkflow.errors import LaworkflowError
from laworkflow.http.auth import served
from laworkflow.http.errors import STATUS
from laworkflow.http.web.access import User, web
from laworkflow.projections.case_search import MAX_LIMIT, CaseQuery

router = APIRouter(include_in_schema=False)
WEEKS = (2, 4, 8, 13)  # the choices of "due within": a fortnight, a month, two, a quarter


def _attention(engine: Engine, weeks: int) -> dict[str, Any]:
    """Due items by authority (overdue first, each with how late), cases with a missed deadline, quarantined items."""
    today = engine.today()
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in engine.upcoming(weeks):
        summary = engine.summary(item.case_id)
        authority = (summary.authority if summary else None) or "(no authority)"
        late = (today - uk_date(item.due_at)).days
        groups[authority].append({"item": item, "late": late, "state": summary.state if summary else ""})
    missed = engine.cases(CaseQuery(missed=True, limit=MAX_LIMIT, sort="authority")).cases
    return {
        "today": today,
        "groups": sorted(groups.items(), key=lambda pair: (min(row["item"].due_at for row in pair[1]), pair[0])),
        "overdue": sum(1 for rows in groups.values() for row in rows if row["late"] > 0),
        "missed": [case for case in missed if not case.ended],
        "quarantined": engine.quarantined(),
    }


@router.get("/attention")
def attention(request: Request, user: User, weeks: str = "4") -> Response:
    service = served(request)
    chosen = int(weeks) if weeks.isdigit() and int(weeks) in WEEKS else 4
    context = service.locked(_attention, service.engine, chosen)
    return web(request).pages.render(request, "attention.html", user=user, title="Needs attention", weeks=chosen, week_choices=WEEKS, **context)


@router.get("/register")
def register(request: Request, user: User, nation: str = "", status: str = "") -> Response:
    service = served(request)
    try:
        entries = service.locked(service.engine.register, nation=nation or None, status=status or None)
        error, code = None, 200
    except LaworkflowError as problem:
        entries, error, code = [], str(problem), STATUS.get(problem.code, 400)
    everything = service.locked(service.engine.register)
    return web(request).pages.render(
        request,
        "register.html",
        status=code,
        user=user,
        title="Register of authorities",
        entries=entries,
        nation=nation,
        status_filter=status,
        nations=sorted({entry.nation for entry in everything}),
        statuses=sorted({entry.status for entry in everything}),
        error=error,
    )


__all__ = ["router"]
