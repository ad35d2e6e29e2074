"""Signed-in sessions of the web view: an API key exchanged once for a cookie that names the key, never holds it.

A person signs in by pasting an API key; the key is checked like any API request's
(`Keys.authenticate`) and then forgotten. The cookie carries only the key's name
and a random CSRF token, signed with `itsdangerous` (HMAC-SHA1 over a secret, with
a timestamp checked against `MAX_AGE`), so it cannot be forged or extended, and
reading the store gives nobody a session: a key's digest alone opens nothing.

Every page re-reads the key by name (`Keys.active`): revoking a key ends its
sessions at once, and a role changes nothing that a new sign-in would not.

The cookie is HttpOnly (no script reads it), SameSite=Lax (no other site's form
or script sends it; a link from an e-mail still opens the page signed in), and
Secure when $LAWORKFLOW_SECURE_COOKIES is set (behind HTTPS). Every form carries
the session's CSRF token, compared in constant time (`check_csrf`).

The signing secret is $LAWORKFLOW_SESSION_SECRET; several nodes behind one address
must share it. Without it each process draws its own at start: sessions then end
when the service restarts, and people sign in again (choice: safer than a secret
written into the store, which anyone reading the database could use).
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from laworkflow.http.auth import Served
from laworkflow.keys import Forbidden, Principal, Unauthenticated

COOKIE = "lw_session"
MAX_AGE = 8 * 3600  # a working day: long enough not to interrupt, short enough that a forgotten browser closes
SECRET_ENV = "LAWORKFLOW_SESSION_SECRET"
SECURE_ENV = "LAWORKFLOW_SECURE_COOKIES"


@dataclass(frozen=True)
class WebUser:
    """Who is signed in: the key's principal, and the CSRF token every form of this session must carry."""

    principal: Principal
    csrf: str

    @property
    def name(self) -> str:
        return self.principal.name

    @property
    def may_act(self) -> bool:
        """Inspectors (and admins) start cases and fire triggers; auditors only read."""
        return self.principal.may("write")


class Sessions:
    """Open, read and close signed-in sessions for one app."""

    def __init__(self, secret: str | None = None, *, secure: bool | None = None):
        key = secret or os.environ.get(SECRET_ENV) or secrets.token_urlsafe(32)
        self._signer = URLSafeTimedSerializer(key, salt="laworkflow.web.session")
        self.secure = secure if secure is not None else os.environ.get(SECURE_ENV, "").lower() in {"1", "true", "yes"}

    def open(self, response: Response, principal: Principal) -> WebUser:
        """Set the cookie of a new session (a new CSRF token each time: nothing carries over from before the sign-in)."""
        if not principal.may("read"):
            raise Forbidden(f"the key {principal.name!r} has role {principal.role!r}, which may not read cases: sign in with an auditor or inspector key")
        user = WebUser(principal, secrets.token_urlsafe(32))
        value = self._signer.dumps({"name": principal.name, "csrf": user.csrf})
        response.set_cookie(COOKIE, value, max_age=MAX_AGE, httponly=True, samesite="lax", secure=self.secure, path="/")
        return user

    def read(self, request: Request, served: Served) -> WebUser | None:
        """The session a request's cookie opens, or None: no cookie, a bad or expired signature, a revoked key."""
        value = request.cookies.get(COOKIE)
        if not value:
            return None
        try:
            content = self._signer.loads(value, max_age=MAX_AGE)
            name, csrf = str(content["name"]), str(content["csrf"])
        except (BadSignature, KeyError, TypeError):
            return None
        try:
            principal = served.locked(served.keys.active, name)
        except Unauthenticated:
            return None
        return WebUser(principal, csrf) if principal.may("read") else None

    @staticmethod
    def close(response: Response) -> None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")


def check_csrf(user: WebUser, token: str | None) -> bool:
    """Whether a form's token is its session's (in constant time)."""
    return bool(token) and hmac.compare_digest(user.csrf.encode(), str(token).encode())


__all__ = ["COOKIE", "MAX_AGE", "SECRET_ENV", "SECURE_ENV", "Sessions", "WebUser", "check_csrf"]
