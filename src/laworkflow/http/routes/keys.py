"""/v1/keys: list, issue and revoke API keys (admin keys only)."""

from typing import Annotated, Any

from fastapi import APIRouter, Path

from laworkflow.cases.views import jsonable
from laworkflow.http.auth import Admin, Service
from laworkflow.http.bodies import StrictJSONRoute
from laworkflow.http.errors import responses
from laworkflow.http.schemas import IssuedKey, IssueKey, KeyInfo, KeyList

router = APIRouter(route_class=StrictJSONRoute)


@router.get("/v1/keys", response_model=KeyList, tags=["keys"], responses=responses(401, 403))
def list_keys(_: Admin, service: Service) -> dict[str, Any]:
    """Every key ever issued: name, role, when, revoked or not (never the key)."""
    return {"keys": jsonable(service.locked(service.keys.list))}


@router.post("/v1/keys", status_code=201, response_model=IssuedKey, tags=["keys"], responses=responses(401, 403, 409, 413, 422))
def issue_key(principal: Admin, service: Service, body: IssueKey) -> dict[str, Any]:
    """Issue a key; the response is the only time it is shown."""
    key = service.locked(service.keys.issue, body.name, body.role, by=principal.name)
    return {"name": body.name, "role": body.role, "key": key}


@router.delete("/v1/keys/{name}", response_model=KeyInfo, tags=["keys"], responses=responses(401, 403, 404, 409, 422))
def revoke_key(principal: Admin, service: Service, name: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    """Revoke a key at once; returns its record."""
    keys = service.keys

    def run() -> dict[str, Any]:
        keys.revoke(name, by=principal.name)
        return next(entry for entry in keys.list() if entry["name"] == name)

    record: dict[str, Any] = jsonable(service.locked(run))
    return record


__all__ = ["router"]
