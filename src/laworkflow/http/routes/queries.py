"""/v1/due, /v1/upcoming, /v1/register, /v1/verify: questions across every case."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from laworkflow.audit.verify import verify as verify_record
from laworkflow.cases.views import jsonable
from laworkflow.http.auth import CASE_ID_PATTERN, Reader, Service, case_id
from laworkflow.http.bodies import StrictJSONRoute
from laworkflow.http.errors import CASE_ERRORS, READ_ERRORS
from laworkflow.http.schemas import DueOut, MomentIn, RegisterOut, UpcomingOut, VerifyOut

router = APIRouter(route_class=StrictJSONRoute)


@router.get("/v1/due", response_model=DueOut, tags=["queries"], responses=READ_ERRORS)
def due(
    _: Reader,
    service: Service,
    before: Annotated[MomentIn | None, Query(description="Only what falls due by then; default everything armed.")] = None,
) -> dict[str, Any]:
    """Timers to fire and deadlines standing, across all cases, earliest first."""
    items = service.locked(service.engine.due, before=before)
    return {"before": jsonable(before), "items": [item.to_dict() for item in items]}


@router.get("/v1/upcoming", response_model=UpcomingOut, tags=["queries"], responses=READ_ERRORS)
def upcoming(
    _: Reader,
    service: Service,
    weeks: Annotated[int, Query(ge=0, le=520, description="How far ahead.")] = 8,
    from_: Annotated[MomentIn | None, Query(alias="from", description="Count from this moment instead of now.")] = None,
) -> dict[str, Any]:
    """Every deadline, milestone and timer due in the next N weeks (and any overdue), across all cases."""
    items = service.locked(service.engine.upcoming, weeks, now=from_)
    return {"weeks": weeks, "items": [item.to_dict() for item in items]}


@router.get("/v1/register", response_model=RegisterOut, tags=["queries"], responses=READ_ERRORS)
def register(
    _: Reader,
    service: Service,
    nation: Annotated[Literal["england", "wales"] | None, Query(description="Default both.")] = None,
    status: Annotated[str | None, Query(max_length=80, description="Only this status, e.g. 'in follow-up'.")] = None,
) -> dict[str, Any]:
    """Authorities listed by status (in follow-up, due re-inspection, …): since when, and what is next."""
    entries = service.locked(service.engine.register, nation=nation, status=status)
    return {"nation": nation, "status": status, "entries": [entry.to_dict() for entry in entries]}


@router.get("/v1/verify", response_model=VerifyOut, tags=["queries"], responses=CASE_ERRORS)
def verify(
    _: Reader,
    service: Service,
    case: Annotated[
        str | None, Query(max_length=36, pattern=CASE_ID_PATTERN, description="One case (its id or a unique prefix of it); default every case.")
    ] = None,
    index: Annotated[bool, Query(description="Also compare the timer index with one rebuilt from the log.")] = False,
) -> dict[str, Any]:
    """Recompute every digest and the chain, look for stray fields and forged snapshots; `ok` is false when the record was altered (still a 200)."""
    report = service.locked(verify_record, service.engine, case_id(service, case) if case is not None else None, index=index)
    return report.to_dict()


__all__ = ["router"]
