"""The web view: pages on the GOV.UK Design System for the back office and auditors, served by the API's own app."""

# `install(app)` adds, to an app `create_app` built: the front-end assets the install step
# built from package.json (`assets`), Swagger UI and ReDoc on those assets (`docs`), and the
# pages behind a signed-in session (`pages`). No page reaches a CDN.

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    from laworkflow.http.web import assets, docs, pages

    assets.mount(app)
    docs.install(app)
    pages.install(app)


__all__ = ["install"]
