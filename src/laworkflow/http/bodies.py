"""Reading request bodies strictly: size limited before parsing, JSON without surrogates, NaN or deep nesting."""

import json
import math
import os
from collections.abc import Callable
from typing import Any

import pydantic_core
from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from laworkflow.errors import LaworkflowError
from laworkflow.http.errors import envelope, utf8_text
from laworkflow.logs import get_logger

log = get_logger("laworkflow.api")
MAX_BODY_ENV = "LAWORKFLOW_MAX_BODY_BYTES"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 64
"""Nesting a body may have: a workflow's data is a few levels deep; deeper is refused before it is read further."""


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
    return utf8_text(reason)


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
        response = envelope(413, "body_too_large", message, headers={"Connection": "close"})
        await response(scope, receive, send)
