"""/docs (Swagger UI) and /redoc (ReDoc) render in a real browser from the package's own copies, reaching no other host.

FastAPI's defaults would load both from jsDelivr and ReDoc's fonts from Google; the `page` fixture
aborts and records any request that leaves 127.0.0.1 and fails the test if there was one, and both
pages carry a Content-Security-Policy that keeps the browser from trying. The two
pages are third-party code, so axe-core is not run on them (the web view's own pages are checked).
"""

from __future__ import annotations

from web_harness import screenshot

# Both render the API's operations from /openapi.json; these are among them (laworkflow.http.routes).
OPERATIONS = ["/v1/cases", "/v1/cases/{case}/fire"]


def test_swagger_ui_shows_the_apis_operations_from_local_assets(web_server, page, traffic):
    response = page.goto(web_server.url("/docs"))
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page.locator(".swagger-ui .opblock").first.wait_for(timeout=30_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    for operation in OPERATIONS:
        assert any(path.replace("\u200b", "") == operation for path in paths), (operation, paths)
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("laworkflow")
    loaded = page.evaluate("[...document.querySelectorAll('script[src], link[rel=stylesheet]')].map(e => e.src || e.href)")
    assert sorted(loaded) == sorted(
        [web_server.url("/static/vendor/swagger-ui/swagger-ui-bundle.js"), web_server.url("/static/vendor/swagger-ui/swagger-ui.css")]
    )
    assert (traffic.failed_locally, traffic.errors) == ([], [])
    screenshot(page, "docs-swagger-ui")


def test_redoc_renders_the_api_reference_from_local_assets(web_server, page, traffic):
    response = page.goto(web_server.url("/redoc"))
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page.locator("h1", has_text="laworkflow").first.wait_for(timeout=30_000)
    # ReDoc lists each operation with its path in the right-hand panel: "POST /v1/cases".
    body = page.locator("body").inner_text()
    for operation in OPERATIONS:
        assert operation in body, operation
    assert page.evaluate("[...document.querySelectorAll('script[src]')].map(e => e.src)") == [web_server.url("/static/vendor/redoc/redoc.standalone.js")]
    # ReDoc 2 always shows Redocly's logo from its CDN; the page's Content-Security-Policy stops the
    # browser before any request is made (the `page` fixture saw none), and the console says so.
    blocked_logo = [e for e in traffic.errors if "https://cdn.redoc.ly/redoc/logo-mini.svg" in e and "Content Security Policy" in e]
    assert (traffic.failed_locally, [e for e in traffic.errors if e not in blocked_logo]) == ([], [])
    screenshot(page, "docs-redoc")
