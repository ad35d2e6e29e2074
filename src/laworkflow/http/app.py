"""The HTTP API: everything the CLI does, over HTTP, for back-office services and auditors.

`create_app(engine)` builds a FastAPI application around an Engine the caller
owns; nothing here is configured process-wide. `app_from_env()` is the factory
for a server (`uvicorn --factory laworkflow.api:app_from_env`): it opens the
store named by $LAWORKFLOW_STORE on the workflows in $LAWORKFLOW_WORKFLOWS and
configures logging, as the CLI does.

Every request but `/healthz`, `/readyz` and the OpenAPI document carries an
API key (`Authorization: Bearer <key>` or `X-API-Key: <key>`, see
`laworkflow.keys`): `auditor` keys read, `inspector` keys also start cases and
fire triggers, `admin` keys also manage keys. A write records the key's name as
the event's actor; a request body never says who acts.

Errors are JSON, `{"error": {"code": ..., "message": ...}}`, with the stable
`code` of the engine's error and a status by kind (`STATUS`): 401/403 for
keys, 404 for an unknown case or definition, 409 when the case's state refuses
the command (trigger not allowed, guard failed, an effective time before the
case's last event, a concurrent change), 422 for data or a request that cannot
be read (`invalid_data`; FastAPI's own validation errors as `invalid_request`)
or a date outside `laworkflow.bounds` (`invalid_request` in a field of the
request, `out_of_range` when the engine refuses a date in data or one it
derives), 413 for a body over the limit. A refused request writes nothing, and
no input is a 5xx: bodies are read by a strict JSON reader (no lone surrogates,
no NaN, nesting bounded) and every message is valid UTF-8 whatever it quotes.

Request bodies are limited to `max_body_bytes` (default $LAWORKFLOW_MAX_BODY_BYTES,
else 1 MB), checked on Content-Length and on the bytes of a chunked body as
they arrive, before anything is parsed.

Concurrency: endpoints are plain `def`s, run in a thread pool, and every call
into the engine holds one lock. The Engine's event store is safe to share
between threads, but the projections it keeps in memory (due index, authority
register, child follower) and its "reacting" flag are not: two threads catching
up at once could fold the same notification twice. Commands on SQLite are
serialised by the database anyway, so the lock costs little on one node;
several nodes scale out as separate processes (optimistic concurrency in the
store keeps them consistent). A scheduler running in the same process must take
the same lock (`create_app(engine, lock=...)`, `app.state.engine_lock`).
"""

import json
import math
import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

import pydantic_core
from fastapi import Depends, FastAPI, Path, Query, Request, Response, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .logs import get_logger
from .catalog import Catalog
from .clock import aware
from .definition import Definition
from .engine import Engine
from .errors import LaworkflowError, UnknownCase
from .keys import KEYRING_ID, NAME_PATTERN, Keys, Principal, Unauthenticated
from .views import DueKind, jsonable

T = TypeVar("T")
log = get_logger("laworkflow.api")

API_VERSION = "1"
MAX_BODY_ENV = "LAWORKFLOW_MAX_BODY_BYTES"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 64
"""Nesting a body may have: a workflow's data is a few levels deep; deeper is refused before it is read further."""

STATUS: dict[str, int] = {
    "unauthenticated": 401,
    "forbidden": 403,
    "unknown_case": 404,
    "unknown_definition": 404,
    "unknown_key": 404,
    "trigger_not_allowed": 409,
    "guard_failed": 409,
    "bad_time": 409,
    "concurrent_change": 409,
    "duplicate_key": 409,
    "already_revoked": 409,
    "invalid_data": 422,
    "invalid_request": 422,
    "out_of_range": 422,
    "bad_duration": 422,
    "bad_calendar": 422,
    "unknown_role": 422,
    "invalid_key_name": 422,
}
"""HTTP status by error code; any other LaworkflowError is a 400."""


# --------------------------------------------------------------------- schemas

Moment = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
Day = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]


def _moment(value: str | None) -> datetime | None:
    """Read a moment as the CLI does (ISO date or time; a date is its UK midnight), within `laworkflow.bounds`."""
    # BadTime and OutOfRange are ValueErrors: a validation error, 422
    return aware(value) if value is not None else None


MOMENT_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?$"

MomentIn = Annotated[
    str,
    Field(
        max_length=64,
        pattern=MOMENT_PATTERN,
        description="ISO 8601 date or time (a date means 00:00 UK time; a time without offset is UK local time).",
        examples=["2013-06-14T09:00:00+01:00", "2013-06-14"],
    ),
    AfterValidator(_moment),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    code: str = Field(description="Stable, machine-readable: unknown_case, trigger_not_allowed, invalid_data, …")
    message: str = Field(description="What was wrong, the offending value and what would be valid.")
    details: list[dict[str, Any]] | None = Field(default=None, description="For invalid_request: each problem with its location.")


class ErrorResponse(BaseModel):
    error: ErrorBody


class DefinitionSummary(BaseModel):
    id: str
    version: int
    title: str
    inspectorate: str
    calendar: str
    content_hash: str
    states: int
    transitions: int


class DefinitionList(BaseModel):
    definitions: list[DefinitionSummary]


class DefinitionDetail(BaseModel):
    content_hash: str
    definition: Definition


class TimerOut(BaseModel):
    trigger: str
    state: str
    due_at: Moment


class DeadlineOut(BaseModel):
    due_date: Day
    met_by: str
    status: Literal["pending", "missed", "met", "met_early", "met_late", "withdrawn", "withdrawn_after_missing"]
    met_on: Day | None = None
    late_by_working_days: int | None = None
    earliest_date: Day | None = None
    target_date: Day | None = None


class ChildOut(BaseModel):
    id: UUID
    workflow: str
    trigger: str


class CaseOut(BaseModel):
    """A case now, or as it stood at `as_of`; the shape of the CLI's `show --json`."""

    id: UUID
    workflow: str
    version: int
    definition_hash: str
    state: str
    ended: bool
    data: dict[str, Any]
    parameters: dict[str, Any]
    timers: dict[str, TimerOut]
    deadlines: dict[str, DeadlineOut]
    parent: UUID | None
    children: list[ChildOut]
    events: int
    last_effective_at: Moment | None
    as_of: Moment | None


class StartCase(Strict):
    workflow: str = Field(min_length=1, max_length=80, examples=["ofsted-laassi"])
    version: int | None = Field(default=None, ge=1, description="Definition version; default the latest.")
    data: dict[str, Any] = Field(default_factory=dict, examples=[{"authority": "Norfolk", "concerns": ["attainment_below_national"]}])
    parameters: dict[str, str | int | float | bool] = Field(default_factory=dict, description="Overrides of the definition's parameters.")
    at: MomentIn | None = Field(default=None, description="When it takes effect; default now.")


class FireTrigger(Strict):
    trigger: str = Field(min_length=1, max_length=80, examples=["record_evidence"])
    data: dict[str, Any] = Field(default_factory=dict)
    at: MomentIn | None = Field(default=None, description="When it takes effect; default now. Not before the case's last event.")


class HistoryEvent(BaseModel):
    version: int
    type: str
    effective_at: Moment
    recorded_at: Moment
    actor: str
    details: dict[str, Any]
    prev_hash: str
    digest: str


class HistoryOut(BaseModel):
    case_id: UUID
    events: list[HistoryEvent]


class AllowedTriggerOut(BaseModel):
    trigger: str
    to: str
    data: dict[str, dict[str, Any]]
    guards: list[str]
    cites: str
    weight: float


class AllowedOut(BaseModel):
    case_id: UUID
    state: str
    triggers: list[AllowedTriggerOut]


class DueItemOut(BaseModel):
    due_at: Moment
    kind: DueKind
    case_id: UUID
    name: str
    workflow: str
    detail: str


class DueOut(BaseModel):
    before: Moment | None
    items: list[DueItemOut]


class UpcomingOut(BaseModel):
    weeks: int
    items: list[DueItemOut]


class RegisterCase(BaseModel):
    id: UUID
    workflow: str
    state: str


class RegisterEntryOut(BaseModel):
    authority: str
    nation: str
    status: str
    since: Moment
    cases: list[RegisterCase]
    next_due: DueItemOut | None


class RegisterOut(BaseModel):
    nation: str | None
    status: str | None
    entries: list[RegisterEntryOut]


class CaseCheckOut(BaseModel):
    case_id: UUID
    events: int
    ok: bool
    head_hash: str
    problems: list[str]


class VerifyOut(BaseModel):
    ok: bool = Field(description="False when any digest or link of the chain does not match: the record was altered.")
    cases: list[CaseCheckOut]


class HealthOut(BaseModel):
    status: Literal["ok", "ready"]


Role = Literal["admin", "inspector", "auditor"]


class IssueKey(Strict):
    name: str = Field(pattern=NAME_PATTERN, description="Recorded as the actor of every write made with the key.", examples=["backoffice"])
    role: Role


class IssuedKey(BaseModel):
    name: str
    role: Role
    key: str = Field(description="Shown this once; only its digest is stored.")


class KeyInfo(BaseModel):
    name: str
    role: Role
    issued_at: Moment
    revoked: bool


class KeyList(BaseModel):
    keys: list[KeyInfo]


# ---------------------------------------------------------------- reading bodies


def _text(value: str) -> str:
    """`value` as valid UTF-8: a lone surrogate quoted in a message becomes its escape (\\ud800), never a crash."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def read_json(body: bytes) -> Any:
    """A request body as JSON, strictly: what json.loads accepts but no store or response could hold is refused.

    Lone surrogates ("\\ud800") are not text; NaN, Infinity and numbers too large for a float are not JSON
    numbers; nesting deeper than MAX_JSON_DEPTH is refused. The parser is pydantic's (Rust, with its own
    recursion limit), so no input raises RecursionError in this thread: a caught RecursionError is cheap to
    cause and leaves CPython 3.11 fragile (see tests/test_api_load.py). Refusals are json.JSONDecodeError,
    which FastAPI answers as a validation error (422, `invalid_request`) before any endpoint runs.
    """
    text = body.decode("utf-8", "replace")  # for JSONDecodeError's fields only; the parser reads the bytes
    try:
        value = pydantic_core.from_json(body, allow_inf_nan=False)
    except ValueError as error:
        raise json.JSONDecodeError(_unreadable(str(error)), text, 0) from None
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:  # a loop, not recursion: depth is what is being checked
        item, depth = pending.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise json.JSONDecodeError("a number too large for a float (it reads as infinity)", text, 0)
        if isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise json.JSONDecodeError(f"nested deeper than {MAX_JSON_DEPTH} levels", text, 0)
            pending.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return value


def _unreadable(reason: str) -> str:
    """The parser's reason, with what it means for the sender."""
    if "recursion limit" in reason:
        return f"nested deeper than {MAX_JSON_DEPTH} levels ({reason})"
    if "surrogate" in reason or "hex escape" in reason:
        return f"a \\u escape that is no character: a lone surrogate (\\ud800-\\udfff without its pair) or not four hex digits ({reason})"
    if "unicode code point" in reason:
        return f"text that is not UTF-8 ({reason})"
    return _text(reason)


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = read_json(await self.body())
        return self._json


class StrictJSONRoute(APIRoute):
    """Every endpoint reads its body with `read_json` (FastAPI's documented way to customise the request)."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict


class BadSetting(LaworkflowError, ValueError):
    code = "bad_setting"


def max_body_bytes_from_env() -> int:
    """$LAWORKFLOW_MAX_BODY_BYTES (a whole number of bytes), else 1 MB."""
    text = os.environ.get(MAX_BODY_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_BODY_BYTES
    if not text.isdigit():
        raise BadSetting(f"${MAX_BODY_ENV} must be a whole number of bytes, e.g. 1048576, not {text!r}")
    return int(text)


class BodyLimit:
    """Refuse a request body over `limit` bytes with a JSON 413, before the application reads any of it.

    A declared Content-Length over the limit is refused at once; a body without one (chunked) is counted
    as it arrives and refused the moment it passes the limit. A body within the limit is handed on whole.
    """

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"").strip()
        if declared.isdigit() and int(declared) > self.limit:
            await self.refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self.refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        whole: Message | None = {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        async def replay() -> Message:
            nonlocal whole
            if whole is None:
                return await receive()
            message, whole = whole, None
            return message

        await self.app(scope, replay, send)

    async def refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        log.info("request.refused", method=scope.get("method"), path=scope.get("path"), status=413, code="body_too_large")
        message = f"the request body is larger than {self.limit} bytes, the limit of this server (${MAX_BODY_ENV})"
        response = _envelope(413, "body_too_large", message, headers={"Connection": "close"})
        await response(scope, receive, send)


# ------------------------------------------------------------------------ app


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    meaning = {
        401: "No API key, or one unknown, revoked or malformed.",
        403: "The key's role may not do this.",
        404: "Unknown case, definition or key.",
        409: "The case's state refuses the command: trigger not allowed, guard failed, a time before its last event, or a concurrent change.",
        413: "The request body is larger than the server's limit.",
        422: "Data or a request that cannot be read, or a date outside the range the engine accepts.",
    }
    return {status: {"model": ErrorResponse, "description": meaning[status]} for status in statuses}


def _problem(item: dict[str, Any]) -> str:
    """One validation problem in words; for a body that is not JSON, why not."""
    message = str(item.get("msg", ""))
    reason = (item.get("ctx") or {}).get("error") if item.get("type") == "json_invalid" else None
    return f"{message}: {reason}" if reason else message


def _envelope(status: int, code: str, message: str, *, details: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": _text(message)}
    if details is not None:
        body["details"] = [{"loc": [_text(part) for part in d["loc"]], "msg": _text(d["msg"])} for d in details]
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def create_app(
    engine: Engine,
    *,
    lock: AbstractContextManager[Any] | None = None,
    close_engine: bool = False,
    ready: Callable[[], bool] | None = None,
    max_body_bytes: int | None = None,
) -> FastAPI:
    """An HTTP API over one Engine; the caller owns the engine unless `close_engine`.

    `lock` guards every engine call (default a new `threading.Lock`); pass the one a scheduler in the
    same process holds while it fires timers (`laworkflow.service.serve` passes its RLock).
    `ready` is asked by /readyz besides the store (serve passes "the scheduler thread is alive and
    healthy"): a service whose timers have stopped must not say it is ready. `max_body_bytes` limits
    request bodies (default $LAWORKFLOW_MAX_BODY_BYTES, else 1 MB).
    """
    lock = lock if lock is not None else threading.Lock()
    limit = max_body_bytes if max_body_bytes is not None else max_body_bytes_from_env()
    keys = Keys(engine)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        yield
        if close_engine:
            engine.close()

    app = FastAPI(
        title="laworkflow",
        version=API_VERSION,
        description="Event-sourced workflows for inspections of local authorities: start cases, fire triggers, read history.",
        lifespan=lifespan,
    )
    app.router.route_class = StrictJSONRoute  # before any route is added
    app.add_middleware(BodyLimit, limit=limit)
    app.state.engine = engine
    app.state.engine_lock = lock
    app.state.keys = keys

    def locked(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with lock:
            return function(*args, **kwargs)

    # ------------------------------------------------------------ errors

    @app.exception_handler(LaworkflowError)
    def refused(request: Request, error: LaworkflowError) -> JSONResponse:
        status = STATUS.get(error.code, 400)
        log.info("request.refused", method=request.method, path=request.url.path, status=status, code=error.code, error=str(error))
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return _envelope(status, error.code, str(error), headers=headers)

    @app.exception_handler(RequestValidationError)
    def unreadable(_: Request, error: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": [str(part) for part in item.get("loc", ())], "msg": _problem(item)} for item in error.errors()
        ]
        message = "; ".join(f"{'.'.join(d['loc']) or 'request'}: {d['msg']}" for d in details) or "the request cannot be read"
        return _envelope(422, "invalid_request", message, details=details)

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        headers = dict(getattr(error, "headers", None) or {})
        if error.status_code == 400:  # a body that cannot even be decoded: bad input like any other
            return _envelope(422, "invalid_request", f"the request cannot be read: {error.detail}")
        if error.status_code == 405:  # Starlette names only the first route on the path; name them all
            methods: set[str] = set()
            for route in request.app.router.routes:
                if route.matches(request.scope)[0] != Match.NONE:
                    methods |= getattr(route, "methods", None) or set()
            headers["Allow"] = ", ".join(sorted(methods))
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return _envelope(error.status_code, code, str(error.detail), headers=headers or None)

    @app.exception_handler(OverflowError)
    def out_of_range(request: Request, error: OverflowError) -> JSONResponse:
        # A duration so long (a parameter such as "99999999 working days") that a date it yields
        # falls outside the calendar; the engine raises it while planning, before anything is recorded.
        log.info("request.refused", method=request.method, path=request.url.path, status=422, code="invalid_data", error=str(error))
        return _envelope(422, "invalid_data", f"a date this command works out falls outside the calendar ({error}); check the case's parameters and data")

    @app.exception_handler(Exception)
    def crashed(request: Request, error: Exception) -> JSONResponse:  # a bug, never bad input
        log.error("request.crashed", method=request.method, path=request.url.path, error=repr(error), exc_info=error)
        return _envelope(500, "internal_error", f"internal error ({type(error).__name__}); the server log has the details")

    # -------------------------------------------------------------- auth

    bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer lw_<name>_<secret>")
    api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="The same key in X-API-Key.")

    def principal_for(permission: str) -> Callable[..., Principal]:
        def authenticate(
            credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
            header: Annotated[str | None, Security(api_key)] = None,
        ) -> Principal:
            key = credentials.credentials if credentials is not None else header
            if not key:
                raise Unauthenticated("no API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
            principal = locked(keys.authenticate, key)
            principal.require(permission)
            return principal

        return authenticate

    Reader = Annotated[Principal, Depends(principal_for("read"))]
    Writer = Annotated[Principal, Depends(principal_for("write"))]
    Admin = Annotated[Principal, Depends(principal_for("keys"))]
    CaseId = Annotated[UUID, Path(description="A case id (UUID).")]

    def case_id(value: UUID) -> UUID:
        """The key ring shares the store but is not a case."""
        if value == KEYRING_ID:
            raise UnknownCase(f"no case {value}")
        return value

    read_errors = _errors(401, 403, 422)
    case_errors = _errors(401, 403, 404, 422)

    # ---------------------------------------------------------- probes

    @app.get("/healthz", response_model=HealthOut, tags=["probes"], summary="The process is up (no key needed).")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz", response_model=HealthOut, tags=["probes"],
        summary="The event store answers and, in `serve`, the scheduler runs (no key needed).",
        responses={503: {"model": ErrorResponse, "description": "The event store cannot be read, or the scheduler has stopped."}},
    )
    def readyz() -> Any:
        try:
            # A cheap read of the notification log. It takes no engine lock: the recorder is
            # thread-safe, and readiness must not wait behind a long command.
            engine.recorder.max_notification_id()
        except Exception as error:  # any failure to reach the store means not ready
            return _envelope(503, "store_unavailable", f"the event store cannot be read ({type(error).__name__}: {error})")
        try:
            running = ready is None or ready()
        except Exception as error:  # a check that fails says no
            log.warning("readiness.failed", error=repr(error))
            running = False
        if not running:
            return _envelope(503, "scheduler_unhealthy", "the scheduler has stopped or its last pass failed: timers and deadlines are not being handled")
        return {"status": "ready"}

    # ---------------------------------------------------------- definitions

    @app.get("/v1/definitions", response_model=DefinitionList, tags=["definitions"], responses=_errors(401, 403))
    def list_definitions(_: Reader) -> dict[str, Any]:
        """Every workflow and version the engine knows."""
        return {
            "definitions": [
                w.summary()
                for w in engine.catalog
            ]
        }

    @app.get("/v1/definitions/{definition_id}", response_model=DefinitionDetail, tags=["definitions"], responses=case_errors)
    def show_definition(
        _: Reader,
        definition_id: Annotated[str, Path(max_length=80)],
        version: Annotated[int | None, Query(ge=1, description="Default the latest.")] = None,
    ) -> dict[str, Any]:
        """One definition in full (the shape of a workflow file), with its content hash."""
        compiled = engine.catalog.get(definition_id, version)
        return {"content_hash": compiled.content_hash, "definition": compiled.definition}

    # ---------------------------------------------------------------- cases

    @app.post(
        "/v1/cases", status_code=201, response_model=CaseOut, response_model_exclude_unset=True, tags=["cases"],
        responses=_errors(401, 403, 404, 409, 413, 422),
    )
    def start_case(principal: Writer, body: StartCase, response: Response) -> dict[str, Any]:
        """Start a case; the key's name is recorded as the actor."""

        def run() -> dict[str, Any]:
            cid = engine.start(
                body.workflow, body.data, version=body.version, actor=principal.name,
                at=body.at, parameters=dict(body.parameters),  # type: ignore[arg-type]  # `at` is a datetime once validated
            )
            return engine.get(cid).to_dict()

        view = locked(run)
        response.headers["Location"] = app.url_path_for("show_case", case=view["id"])
        return view

    @app.get("/v1/cases/{case}", response_model=CaseOut, response_model_exclude_unset=True, tags=["cases"], responses=case_errors)
    def show_case(
        _: Reader,
        case: CaseId,
        as_of: Annotated[MomentIn | None, Query(description="The case as it stood then: events that took effect by this moment.")] = None,
    ) -> dict[str, Any]:
        """A case now, or as it stood at a past moment."""
        return locked(engine.get, case_id(case), as_of=as_of).to_dict()

    @app.get("/v1/cases/{case}/history", response_model=HistoryOut, tags=["cases"], responses=case_errors)
    def case_history(_: Reader, case: CaseId) -> dict[str, Any]:
        """Every event of a case, in order: who, when it took effect, when it was recorded, and the hash chain."""
        entries = locked(engine.history, case_id(case))
        return {"case_id": case, "events": [entry.to_dict() for entry in entries]}

    @app.get("/v1/cases/{case}/allowed", response_model=AllowedOut, tags=["cases"], responses=case_errors)
    def case_allowed(_: Reader, case: CaseId) -> dict[str, Any]:
        """The triggers the case may take now, with the data each requires, its guards and citation."""

        def run() -> tuple[str, list[dict[str, Any]]]:
            return engine.get(case_id(case)).state, [t.to_dict() for t in engine.allowed_triggers(case)]

        state, triggers = locked(run)
        return {"case_id": case, "state": state, "triggers": triggers}

    @app.post(
        "/v1/cases/{case}/fire", response_model=CaseOut, response_model_exclude_unset=True, tags=["cases"],
        responses=_errors(401, 403, 404, 409, 413, 422),
    )
    def fire(principal: Writer, case: CaseId, body: FireTrigger) -> dict[str, Any]:
        """Fire a trigger on a case; returns the case after it. The key's name is recorded as the actor."""
        view = locked(engine.fire, case_id(case), body.trigger, body.data, actor=principal.name, at=body.at)
        return view.to_dict()

    # -------------------------------------------------------------- queries

    @app.get("/v1/due", response_model=DueOut, tags=["queries"], responses=read_errors)
    def due(
        _: Reader,
        before: Annotated[MomentIn | None, Query(description="Only what falls due by then; default everything armed.")] = None,
    ) -> dict[str, Any]:
        """Timers to fire and deadlines standing, across all cases, earliest first."""
        items = locked(engine.due, before=before)
        return {"before": jsonable(before), "items": [item.to_dict() for item in items]}

    @app.get("/v1/upcoming", response_model=UpcomingOut, tags=["queries"], responses=read_errors)
    def upcoming(
        _: Reader,
        weeks: Annotated[int, Query(ge=0, le=520, description="How far ahead.")] = 8,
        from_: Annotated[MomentIn | None, Query(alias="from", description="Count from this moment instead of now.")] = None,
    ) -> dict[str, Any]:
        """Every deadline, milestone and timer due in the next N weeks (and any overdue), across all cases."""
        items = locked(engine.upcoming, weeks, now=from_)
        return {"weeks": weeks, "items": [item.to_dict() for item in items]}

    @app.get("/v1/register", response_model=RegisterOut, tags=["queries"], responses=read_errors)
    def register(
        _: Reader,
        nation: Annotated[Literal["england", "wales"] | None, Query(description="Default both.")] = None,
        status: Annotated[str | None, Query(max_length=80, description="Only this status, e.g. 'in follow-up'.")] = None,
    ) -> dict[str, Any]:
        """Authorities listed by status (in follow-up, due re-inspection, …): since when, and what is next."""
        entries = locked(engine.register, nation=nation, status=status)
        return {"nation": nation, "status": status, "entries": [entry.to_dict() for entry in entries]}

    @app.get("/v1/verify", response_model=VerifyOut, tags=["queries"], responses=case_errors)
    def verify(
        _: Reader,
        case: Annotated[UUID | None, Query(description="One case; default every case.")] = None,
    ) -> dict[str, Any]:
        """Recompute every digest and the chain; `ok` is false when the record was altered (still a 200)."""
        report = locked(engine.verify, case_id(case) if case is not None else None)
        return report.to_dict()

    # ----------------------------------------------------------------- keys

    @app.get("/v1/keys", response_model=KeyList, tags=["keys"], responses=_errors(401, 403))
    def list_keys(_: Admin) -> dict[str, Any]:
        """Every key ever issued: name, role, when, revoked or not (never the key)."""
        return {"keys": jsonable(locked(keys.list))}

    @app.post("/v1/keys", status_code=201, response_model=IssuedKey, tags=["keys"], responses=_errors(401, 403, 409, 413, 422))
    def issue_key(principal: Admin, body: IssueKey) -> dict[str, Any]:
        """Issue a key; the response is the only time it is shown."""
        key = locked(keys.issue, body.name, body.role, by=principal.name)
        return {"name": body.name, "role": body.role, "key": key}

    @app.delete("/v1/keys/{name}", response_model=KeyInfo, tags=["keys"], responses=_errors(401, 403, 404, 409, 422))
    def revoke_key(principal: Admin, name: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
        """Revoke a key at once; returns its record."""

        def run() -> dict[str, Any]:
            keys.revoke(name, by=principal.name)
            return next(entry for entry in keys.list() if entry["name"] == name)

        return jsonable(locked(run))

    return app


def app_from_env() -> FastAPI:
    """The server's factory: the store in $LAWORKFLOW_STORE, the workflows in $LAWORKFLOW_WORKFLOWS, logging from $LAWORKFLOW_LOG.

        uvicorn --factory laworkflow.api:app_from_env --host 127.0.0.1 --port 8000
    """
    from .logs import configure
    from .service import open_engine
    from .store import STORE_ENV

    configure(None)
    engine = open_engine(Catalog.from_directory(), os.environ.get(STORE_ENV))  # creates the tables once, even with several nodes
    return create_app(engine, close_engine=True)


__all__ = ["STATUS", "app_from_env", "create_app"]
