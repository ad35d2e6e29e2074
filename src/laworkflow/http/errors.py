"""Every refusal as one JSON envelope, `{"error": {"code", "message"}}`, with its HTTP status by error code."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from laworkflow.errors import LaworkflowError
from laworkflow.http.schemas import ErrorResponse
from laworkflow.logs import get_logger

log = get_logger("laworkflow.api")


def utf8_text(value: str) -> str:
    """`value` as valid UTF-8: a lone surrogate quoted in a message becomes its escape (\\ud800), never a crash."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


STATUS: dict[str, int] = {
    "unauthenticated": 401,
    "forbidden": 403,
    # No caller of any role may take an engine-only trigger, in any state: not a conflict with the case's state (409),
    # which another command could resolve, but a command nobody may send.
    "internal_trigger": 403,
    "unknown_case": 404,
    "unknown_definition": 404,
    "unknown_key": 404,
    "trigger_not_allowed": 409,
    "guard_failed": 409,
    "bad_time": 409,
    "concurrent_change": 409,
    "definition_changed": 409,
    "duplicate_key": 409,
    "already_revoked": 409,
    "invalid_data": 422,
    "invalid_request": 422,
    "out_of_range": 422,
    "not_in_force": 422,
    "bad_duration": 422,
    "bad_calendar": 422,
    "unknown_role": 422,
    "invalid_key_name": 422,
}
"""HTTP status by error code; any other LaworkflowError is a 400."""


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of an endpoint that may refuse with these statuses."""
    meaning = {
        401: "No API key, or one unknown, revoked or malformed.",
        403: "The key's role may not do this, or the trigger is taken only by the engine (internal_trigger: a reaction to a child case or a timer).",
        404: "Unknown case, definition or key.",
        409: "The case's state refuses the command: trigger not allowed, guard failed, a time before its last event, a concurrent change, or a case pinned to definition content no longer in the catalog.",
        413: "The request body is larger than the server's limit.",
        422: "Data or a request that cannot be read, or a date outside the range the engine accepts.",
    }
    return {status: {"model": ErrorResponse, "description": meaning[status]} for status in statuses}


def problem(item: dict[str, Any]) -> str:
    """One validation problem in words; for a body that is not JSON, why not."""
    message = str(item.get("msg", ""))
    reason = (item.get("ctx") or {}).get("error") if item.get("type") == "json_invalid" else None
    return f"{message}: {reason}" if reason else message


def envelope(status: int, code: str, message: str, *, details: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": utf8_text(message)}
    if details is not None:
        body["details"] = [{"loc": [utf8_text(part) for part in d["loc"]], "msg": utf8_text(d["msg"])} for d in details]
    return JSONResponse({"error": body}, status_code=status, headers=headers)


READ_ERRORS = responses(401, 403, 422)
CASE_ERRORS = responses(401, 403, 404, 422)


def install_handlers(app: FastAPI) -> None:
    """Answer every refusal, and every bug, with the envelope: no input is a 5xx, no 5xx shows a traceback."""

    @app.exception_handler(LaworkflowError)
    def refused(request: Request, error: LaworkflowError) -> JSONResponse:
        status = STATUS.get(error.code, 400)
        log.info("request.refused", method=request.method, path=request.url.path, status=status, code=error.code, error=str(error))
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return envelope(status, error.code, str(error), headers=headers)

    @app.exception_handler(RequestValidationError)
    def unreadable(_: Request, error: RequestValidationError) -> JSONResponse:
        details = [{"loc": [str(part) for part in item.get("loc", ())], "msg": problem(item)} for item in error.errors()]
        message = "; ".join(f"{'.'.join(d['loc']) or 'request'}: {d['msg']}" for d in details) or "the request cannot be read"
        return envelope(422, "invalid_request", message, details=details)

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        headers = dict(getattr(error, "headers", None) or {})
        if error.status_code == 400:  # a body that cannot even be decoded: bad input like any other
            return envelope(422, "invalid_request", f"the request cannot be read: {error.detail}")
        if error.status_code == 405:  # Starlette names only the first route on the path; name them all
            methods: set[str] = set()
            for route in request.app.router.routes:
                if route.matches(request.scope)[0] != Match.NONE:
                    methods |= getattr(route, "methods", None) or set()
            headers["Allow"] = ", ".join(sorted(methods))
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return envelope(error.status_code, code, str(error.detail), headers=headers or None)

    @app.exception_handler(OverflowError)
    def out_of_range(request: Request, error: OverflowError) -> JSONResponse:
        # A duration so long (a parameter such as "99999999 working days") that a date it yields
        # falls outside the calendar; the engine raises it while planning, before anything is recorded.
        log.info("request.refused", method=request.method, path=request.url.path, status=422, code="invalid_data", error=str(error))
        return envelope(422, "invalid_data", f"a date this command works out falls outside the calendar ({error}); check the case's parameters and data")

    @app.exception_handler(Exception)
    def crashed(request: Request, error: Exception) -> JSONResponse:  # a bug, never bad input
        log.error("request.crashed", method=request.method, path=request.url.path, error=repr(error), exc_info=error)
        return envelope(500, "internal_error", f"internal error ({type(error).__name__}); the server log has the details")


__all__ = ["CASE_ERRORS", "READ_ERRORS", "STATUS", "envelope", "install_handlers", "problem", "responses", "utf8_text"]
