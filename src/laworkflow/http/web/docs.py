"""Swagger UI at /docs and ReDoc at /redoc, on the copies the install step put into the package.

FastAPI's own pages load both from a CDN and Google Fonts; ours point every script, stylesheet and
favicon at /static/vendor (laworkflow.http.web.assets), so the API's documentation works on a
machine with no Internet access and tells no third party who reads it. Without the built assets
both answer 200 with a short page saying so and how to build them, not a page that stays blank.
"""

from html import escape

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from laworkflow.http.web.assets import HOW_TO_BUILD, assets_built

VENDOR = "/static/vendor"
SWAGGER_JS = f"{VENDOR}/swagger-ui/swagger-ui-bundle.js"
SWAGGER_CSS = f"{VENDOR}/swagger-ui/swagger-ui.css"
SWAGGER_FAVICON = f"{VENDOR}/swagger-ui/favicon-32x32.png"
REDOC_JS = f"{VENDOR}/redoc/redoc.standalone.js"
GOVUK_FAVICON = "/assets/images/favicon.ico"
# The browser itself refuses anything from another origin: both pages are third-party code, and
# ReDoc 2 shows Redocly's logo from cdn.redoc.ly whatever its options say (hidden when it cannot load).
# Inline script and styles stay allowed: FastAPI's page starts Swagger UI inline and ReDoc styles inline.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)


def _not_built(title: str) -> HTMLResponse:
    """A plain page in place of Swagger UI or ReDoc when their files were not built at install."""
    return HTMLResponse(
        '<!DOCTYPE html>\n<html lang="en-GB">\n<head><meta charset="utf-8"><title>'
        f"{escape(title)} – assets not built</title></head>\n<body>\n<main>\n<h1>{escape(title)}: the assets were not built</h1>\n"
        f"<p>The install step builds this page's files with npm, and could not: {escape(HOW_TO_BUILD)}.</p>\n"
        '<p>The API\'s description is at <a href="/openapi.json">/openapi.json</a>.</p>\n</main>\n</body>\n</html>\n'
    )


def _local_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CSP
    return page


def install(app: FastAPI) -> None:
    openapi_url = app.openapi_url or "/openapi.json"
    title = app.title

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        if not assets_built():
            return _not_built(f"{title} – Swagger UI")
        return _local_only(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=f"{title} – Swagger UI",
                swagger_js_url=SWAGGER_JS,
                swagger_css_url=SWAGGER_CSS,
                swagger_favicon_url=SWAGGER_FAVICON,
                swagger_ui_parameters={"validatorUrl": None},  # else Swagger UI may ask validator.swagger.io to check the document
            )
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        if not assets_built():
            return _not_built(f"{title} – ReDoc")
        page = get_redoc_html(
            openapi_url=openapi_url, title=f"{title} – ReDoc", redoc_js_url=REDOC_JS, redoc_favicon_url=GOVUK_FAVICON, with_google_fonts=False
        )
        return _local_only(page)


__all__ = ["install"]
