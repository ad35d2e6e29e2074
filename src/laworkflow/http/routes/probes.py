"""Probes for an orchestrator: /healthz (the process is up) and /readyz (the store answers, the scheduler runs)."""

from typing import Any

from fastapi import APIRouter

from laworkflow.http.auth import Service
from laworkflow.http.bodies import StrictJSONRoute
from laworkflow.http.errors import envelope
from laworkflow.http.schemas import ErrorResponse, HealthOut
from laworkflow.logs import get_logger

router = APIRouter(route_class=StrictJSONRoute)

log = get_logger("laworkflow.api")


@router.get("/healthz", response_model=HealthOut, tags=["probes"], summary="The process is up (no key needed).")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=HealthOut,
    tags=["probes"],
    summary="The event store answers and, in `serve`, the scheduler runs (no key needed).",
    responses={503: {"model": ErrorResponse, "description": "The event store cannot be read, or the scheduler has stopped."}},
)
def readyz(service: Service) -> Any:
    try:
        # A cheap read of the notification log. It takes no engine lock: the recorder is
        # thread-safe, and readiness must not wait behind a long command.
        service.engine.recorder.max_notification_id()
    except Exception as error:  # any failure to reach the store means not ready
        return envelope(503, "store_unavailable", f"the event store cannot be read ({type(error).__name__}: {error})")
    try:
        running = service.ready is None or service.ready()
    except Exception as error:  # a check that fails says no
        log.warning("readiness.failed", error=repr(error))
        running = False
    if not running:
        return envelope(503, "scheduler_unhealthy", "the scheduler has stopped or its last pass failed: timers and deadlines are not being handled")
    return {"status": "ready"}


__all__ = ["router"]
