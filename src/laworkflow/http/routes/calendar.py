"""/v1/calendar.ics: the calendar feed, for a calendar that subscribes by URL with a calendar token.

Outlook and Google Calendar subscribe to a URL and cannot send a header, so the
credential travels in the query: `?token=lw_<name>_<secret>`. A URL is written
down, shared and logged, so only a key of role `calendar` is taken there — it
reads the feed and nothing else, and it is revoked like any key (`laworkflow
keys revoke NAME`); an API key of any other role in a URL is refused, even an
admin's. The token is checked as every key is (`laworkflow.keys`: only its
SHA-256 digest is stored, compared in constant time).
"""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, Security
from fastapi.security import APIKeyQuery

from laworkflow.errors import UnknownCase
from laworkflow.feeds import Scope, feed
from laworkflow.http.auth import Service
from laworkflow.http.bodies import StrictJSONRoute
from laworkflow.http.errors import CASE_ERRORS
from laworkflow.keys import KEYRING_ID, Forbidden, Unauthenticated

router = APIRouter(route_class=StrictJSONRoute)
MEDIA_TYPE = "text/calendar; charset=utf-8"
calendar_token = APIKeyQuery(
    name="token", scheme_name="CalendarToken", auto_error=False, description="A key of role `calendar`, in the URL a calendar subscribes to."
)


@router.get(
    "/v1/calendar.ics",
    tags=["calendar"],
    response_class=Response,
    responses={**CASE_ERRORS, 200: {"content": {"text/calendar": {"schema": {"type": "string"}}}, "description": "An iCalendar (RFC 5545) document."}},
)
def calendar(
    service: Service,
    token: Annotated[str | None, Security(calendar_token)] = None,
    authority: Annotated[str | None, Query(max_length=200, description="Only the cases started for this authority.")] = None,
    case: Annotated[UUID | None, Query(description="Only this case.")] = None,
) -> Response:
    """Deadlines and milestones of all cases, one authority's or one case's, as iCalendar; each item keeps its UID from fetch to fetch."""
    if not token:
        raise Unauthenticated("no calendar token: subscribe to /v1/calendar.ics?token=<a key of role calendar>")
    principal = service.locked(service.keys.authenticate, token)
    if not principal.may("calendar"):
        raise Forbidden(
            f"the key {principal.name!r} has role {principal.role!r}; only a key of role 'calendar' may be put in a URL, which reads the calendar alone"
        )
    if case == KEYRING_ID:  # the key ring shares the store but is not a case
        raise UnknownCase(f"no case {case}")
    scope = Scope(authority=authority, case=case)
    document = service.locked(feed, service.engine, scope)
    return Response(
        document, media_type=MEDIA_TYPE, headers={"Content-Disposition": 'inline; filename="laworkflow.ics"', "Cache-Control": "private, max-age=300"}
    )


__all__ = ["router"]
