"""/v1/definitions: the workflows and versions the engine knows, each in full."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from laworkflow.http.auth import Reader, Service
from laworkflow.http.bodies import StrictJSONRoute
from laworkflow.http.errors import CASE_ERRORS, responses
from laworkflow.http.schemas import DefinitionDetail, DefinitionList

router = APIRouter(route_class=StrictJSONRoute)


@router.get("/v1/definitions", response_model=DefinitionList, tags=["definitions"], responses=responses(401, 403))
def list_definitions(_: Reader, service: Service) -> dict[str, Any]:
    """Every workflow and version the engine knows."""
    return {"definitions": [w.summary() for w in service.engine.catalog]}


@router.get("/v1/definitions/{definition_id}", response_model=DefinitionDetail, tags=["definitions"], responses=CASE_ERRORS)
def show_definition(
    _: Reader,
    service: Service,
    definition_id: Annotated[str, Path(max_length=80)],
    version: Annotated[int | None, Query(ge=1, description="Default the latest.")] = None,
) -> dict[str, Any]:
    """One definition in full (the shape of a workflow file), with its content hash."""
    compiled = service.engine.catalog.get(definition_id, version)
    return {"content_hash": compiled.content_hash, "definition": compiled.definition}


__all__ = ["router"]
