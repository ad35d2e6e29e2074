"""The pages of the web view, each in a module of its own, and what they share (`access`): sessions, forms, refusals."""

from __future__ import annotations

from fastapi import FastAPI

from laworkflow.http.web import case_pages, migration_pages, overview, signin, workflow_pages
from laworkflow.http.web.access import Web, install_handlers
from laworkflow.http.web.session import Sessions
from laworkflow.http.web.templating import Pages


def install(app: FastAPI, *, session_secret: str | None = None) -> None:
    app.state.web = Web(Pages(), Sessions(session_secret))
    install_handlers(app)
    for module in (signin, overview, case_pages, workflow_pages, migration_pages):
        app.include_router(module.router)


__all__ = ["install"]
