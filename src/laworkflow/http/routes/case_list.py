"""GET /v1/cases: find cases by workflow, authority, nation, state, status, data, dates and missed deadlines, a page at a time.

The filters are those of `laworkflow cases`, read by the same search
(`projections.case_search`): a bad one is a 422 `invalid_data` naming it.
"""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from laworkflow.http.auth import Reader, Service
from laworkflow.http.bodies import StrictJSONRoute
from laworkflow.http.errors import READ_ERRORS
from laworkflow.http.schemas import Moment
from laworkflow.projections.case_search import DEFAULT_LIMIT, DEFAULT_SORT, MAX_LIMIT, SORTS, CaseQuery

router = APIRouter(route_class=StrictJSONRoute)

DateText = Annotated[str | None, Query(max_length=64, description="ISO date or time; a date as a `_to` bound takes in its whole UK day.")]


class CaseSummaryOut(BaseModel):
    id: UUID
    workflow: str
    version: int
    authority: str | None
    nation: str
    state: str
    status: str | None = Field(description="How the register lists an authority with a case in this state, if it does.")
    ended: bool
    started_at: Moment
    moved_at: Moment = Field(description="When its last transition took effect; its start when it has taken none.")
    missed_deadlines: list[str] = Field(description="Deadlines recorded missed, whatever came of them after.")
    parent: UUID | None
    data: dict[str, Any]


class CaseListOut(BaseModel):
    cases: list[CaseSummaryOut]
    total: int = Field(description="Every case the filters match, on all pages.")
    next: str | None = Field(description="Pass as `after` for the next page; null on the last.")


@router.get("/v1/cases", response_model=CaseListOut, tags=["cases"], responses=READ_ERRORS)
def list_cases(
    _: Reader,
    service: Service,
    workflow: Annotated[str | None, Query(max_length=80, description="Only cases of this workflow (its id).")] = None,
    version: Annotated[int | None, Query(ge=1, description="Only cases on this definition version.")] = None,
    authority: Annotated[str | None, Query(max_length=200, description="Only this authority's cases (any case of letters).")] = None,
    nation: Annotated[str | None, Query(max_length=20, description="england or wales.")] = None,
    state: Annotated[str | None, Query(max_length=80, description="Only cases in this state.")] = None,
    status: Annotated[str | None, Query(max_length=80, description="Only cases whose state the register lists so, e.g. 'in follow-up'.")] = None,
    where: Annotated[list[str], Query(max_length=20, description="FIELD=VALUE: a data field holds the value (repeat; all must hold).")] = [],  # noqa: B006  (FastAPI copies it)
    started_from: DateText = None,
    started_to: DateText = None,
    moved_from: DateText = None,
    moved_to: DateText = None,
    missed: Annotated[bool | None, Query(description="true: only cases with a deadline recorded missed; false: only those without.")] = None,
    sort: Annotated[str, Query(max_length=20, description=f"One of {', '.join(SORTS)}; '-' first for the reverse order.")] = DEFAULT_SORT,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Cases per page.")] = DEFAULT_LIMIT,
    after: Annotated[str | None, Query(max_length=2000, description="The `next` cursor of the previous page.")] = None,
) -> dict[str, Any]:
    """Find cases: filtered, sorted (default: the last moved first), a page at a time; dates are ISO, a `_to` date takes in its whole UK day."""
    query = CaseQuery(
        workflow=workflow,
        version=version,
        authority=authority,
        nation=nation,
        state=state,
        status=status,
        where=tuple(where),
        started_from=started_from,
        started_to=started_to,
        moved_from=moved_from,
        moved_to=moved_to,
        missed=missed,
        sort=sort,
        limit=limit,
        after=after,
    )
    return service.locked(service.engine.cases, query).to_dict()


__all__ = ["router"]
