"""/v1/cases: start a case, read it (now or as it stood), its history and allowed triggers, fire a trigger."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from laworkflow.cases.views import CaseView
from laworkflow.http.auth import CaseId, Reader, Service, Writer, case_id
from laworkflow.http.bodies import StrictJSONRoute
from laworkflow.http.errors import CASE_ERRORS, responses
from laworkflow.http.schemas import AllowedOut, CaseOut, FireTrigger, HistoryOut, MomentIn, StartCase

router = APIRouter(route_class=StrictJSONRoute)


def case_out(view: CaseView) -> JSONResponse:
    """A case's view as the response, as `CaseOut` documents it: `to_dict` already has that shape in JSON types, so FastAPI's
    validating it again against the model (a tenth of a command's time over HTTP) is spared; tests/test_api.py holds the two equal."""
    return JSONResponse(view.to_dict())


@router.post(
    "/v1/cases",
    status_code=201,
    response_model=CaseOut,
    response_model_exclude_unset=True,
    tags=["cases"],
    responses=responses(401, 403, 404, 409, 413, 422),
)
def start_case(principal: Writer, service: Service, body: StartCase, response: Response) -> dict[str, Any]:
    """Start a case; the key's name is recorded as the actor."""
    engine = service.engine

    cid = engine.start(body.workflow, body.data, version=body.version, actor=principal.name, at=body.at, parameters=dict(body.parameters))
    view = service.locked(engine.get, cid).to_dict()  # a command takes the lock itself, and not while it commits
    response.headers["Location"] = router.url_path_for("show_case", case=view["id"])
    return view


@router.get("/v1/cases/{case}", response_model=CaseOut, response_model_exclude_unset=True, tags=["cases"], responses=CASE_ERRORS)
def show_case(
    _: Reader,
    service: Service,
    case: CaseId,
    as_of: Annotated[MomentIn | None, Query(description="The case as it stood then: events that took effect by this moment.")] = None,
    known_on: Annotated[
        MomentIn | None, Query(description="What the record said at the end of this UK day: events recorded by then. With as_of, both apply.")
    ] = None,
) -> JSONResponse:
    """A case now, as it stood at a past moment (`as_of`), or as the record told it on a past day (`known_on`)."""
    return case_out(service.locked(service.engine.get, case_id(service, case), as_of=as_of, known_on=known_on))


@router.get("/v1/cases/{case}/history", response_model=HistoryOut, tags=["cases"], responses=CASE_ERRORS)
def case_history(_: Reader, service: Service, case: CaseId) -> dict[str, Any]:
    """Every event of a case, in order: who, when it took effect, when it was recorded, and the hash chain."""
    cid = case_id(service, case)
    entries = service.locked(service.engine.history, cid)
    return {"case_id": cid, "events": [entry.to_dict() for entry in entries]}


@router.get("/v1/cases/{case}/allowed", response_model=AllowedOut, tags=["cases"], responses=CASE_ERRORS)
def case_allowed(
    _: Reader,
    service: Service,
    case: CaseId,
    at: Annotated[MomentIn | None, Query(description="Check the guards on this moment's UK day; default today (the engine clock's).")] = None,
) -> dict[str, Any]:
    """The triggers the case may take now: the fields each takes (type, choices, bounds), its guards and whether each passes on the day, its citation."""
    engine = service.engine
    cid = case_id(service, case)

    def run() -> tuple[str, list[dict[str, Any]]]:
        return engine.get(cid).state, [t.to_dict() for t in engine.allowed_triggers(cid, at=at)]

    state, triggers = service.locked(run)
    return {"case_id": cid, "state": state, "on": engine.today(at).isoformat(), "triggers": triggers}


@router.post(
    "/v1/cases/{case}/fire",
    response_model=CaseOut,
    response_model_exclude_unset=True,
    tags=["cases"],
    responses=responses(401, 403, 404, 409, 413, 422),
)
def fire(principal: Writer, service: Service, case: CaseId, body: FireTrigger) -> JSONResponse:
    """Fire a trigger on a case; returns the case after it. The key's name is recorded as the actor."""
    # Not under the lock: the command takes it while it decides and commits with other commands arriving meanwhile.
    return case_out(service.engine.fire(case_id(service, case), body.trigger, body.data, actor=principal.name, at=body.at))


__all__ = ["router"]
