"""Rendering the pages: Jinja2 with the GOV.UK Frontend macros, and the filters every page formats with.

The macros come from `govuk-frontend-jinja`, a port of GOV.UK Frontend's own
Nunjucks macros kept in step with its releases, so the markup is the Design
System's (and its accessibility work comes with it). Autoescaping is on for
everything: names, data and refusals are shown as text, never as markup; the
only markup passed through is the SVG the pictures package builds, which
escapes its own text.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader

from laworkflow.calendar.clock import LONDON as UK

TEMPLATES = Path(__file__).with_name("templates")
SHORT_ID = 8  # as the CLI's tables show a case id: enough to be unique on a national store, and accepted as a prefix


def _day(value: date | datetime | str | None) -> str:
    """A day as people in the UK write it: 12 July 2013 (nothing for a value the case does not have)."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(UK).date() if value.tzinfo else value.date()
    return f"{value.day} {value:%B %Y}"


def _moment(value: datetime | str | None) -> str:
    """A moment in UK time: 12 July 2013, 10:00."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo:
        moment = moment.astimezone(UK)
    return f"{_day(moment.date())}, {moment:%H:%M}"


def _short(value: UUID | str | None) -> str:
    return "" if value is None else str(value)[:SHORT_ID]


def _words(name: str | None) -> str:
    """A machine name as words: report_sent → report sent."""
    return "" if name is None else str(name).replace("_", " ")


def environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(TEMPLATES), PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")})]),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(day=_day, moment=_moment, short=_short, words=_words)
    return env


class Pages:
    """Renders a page with what every page shows: who is signed in, their CSRF token, where they are."""

    def __init__(self) -> None:
        self.env = environment()

    def render(self, request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        user = context.pop("user", None)
        page = self.env.get_template(template).render(request=request, user=user, path=request.url.path, **context)
        return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})


__all__ = ["SHORT_ID", "Pages", "environment"]
