"""/sign-in and /sign-out: an API key exchanged for a session cookie, and the cookie cleared."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from laworkflow.http.auth import served
from laworkflow.http.web.access import User, may_send, safe_next, web
from laworkflow.keys import KeyProblem

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request) -> Response:
    return RedirectResponse("/attention", status_code=303)


@router.get("/sign-in")
def sign_in_page(request: Request, next: str = "/attention") -> Response:
    user = web(request).sessions.read(request, served(request))
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return web(request).pages.render(request, "sign_in.html", title="Sign in", next=safe_next(next))


@router.post("/sign-in")
def sign_in(request: Request, key: Annotated[str, Form(max_length=200)] = "", next: Annotated[str, Form(max_length=2000)] = "/attention") -> Response:
    """Check the key as any API request's; on success a session (the key itself is not kept), else the form again with why (never the key)."""
    service = served(request)
    try:
        principal = service.locked(service.keys.authenticate, key.strip())
        response = RedirectResponse(safe_next(next), status_code=303)
        web(request).sessions.open(response, principal)
        return response
    except KeyProblem as error:
        words = str(error)
        message = "Enter your API key" if not key.strip() else words[:1].upper() + words[1:]  # the refusal's words never quote the key
        status = 401 if error.code in {"unauthenticated"} else 403
        return web(request).pages.render(request, "sign_in.html", status=status, title="Sign in", next=safe_next(next), error=message, error_href="#key")


@router.post("/sign-out")
def sign_out(request: Request, user: User, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    may_send(user, csrf, acting=False)
    response = RedirectResponse("/sign-in", status_code=303)
    web(request).sessions.close(response)
    return response


__all__ = ["router"]
