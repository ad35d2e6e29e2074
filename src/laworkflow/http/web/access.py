"""Who may see and do what in the web view: the signed-in user of each page, and the checks every form passes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from laworkflow.http.auth import served
from laworkflow.http.web.session import Sessions, WebUser, check_csrf
from laworkflow.http.web.templating import Pages


@dataclass
class Web:
    """What the pages of one app share: the renderer and the sessions (with their signing secret)."""

    pages: Pages
    sessions: Sessions


def web(request: Request) -> Web:
    found: Web = request.app.state.web
    return found


class SignInRequired(Exception):
    """A page asked for without a session: answered with a redirect to the sign-in page, which then comes back here."""

    def __init__(self, back: str):
        super().__init__(back)
        self.back = back


class Refused(Exception):
    """A form the user may not send (read-only role, missing or wrong CSRF token): a 403 page, nothing changed."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def signed_in(request: Request) -> WebUser:
    user = web(request).sessions.read(request, served(request))
    if user is None:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(back if request.method == "GET" else "/attention")
    return user


User = Annotated[WebUser, Depends(signed_in)]


def may_send(user: WebUser, token: str | None, *, acting: bool = True) -> None:
    """A form is sent with its session's CSRF token, and (for a command) by a role that may act; else Refused."""
    if not check_csrf(user, token):
        raise Refused("This form did not come from this session (its security token is missing or wrong): nothing was changed. Reload the page and try again.")
    if acting and not user.may_act:
        raise Refused(f"Your key ({user.name}, role {user.principal.role}) may read cases but not change them: nothing was changed.")


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path of this service only (never another site's address)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/attention"


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    def to_sign_in(_: Request, error: SignInRequired) -> Response:
        return RedirectResponse(f"/sign-in?next={quote(error.back, safe='/')}", status_code=303)

    @app.exception_handler(Refused)
    def refused(request: Request, error: Refused) -> HTMLResponse:
        user = web(request).sessions.read(request, served(request))
        return web(request).pages.render(request, "error.html", status=403, user=user, title="You cannot do that", message=error.message)


__all__ = ["Refused", "SignInRequired", "User", "Web", "install_handlers", "may_send", "safe_next", "signed_in", "web"]
