"""The browser-test harness: a real `serve` on a temporary SQLite file, Debian's Chromium driven by Playwright, axe-core.

The fixtures are here; the helpers they use, and that tests import, are in web_harness.py.

- `web_server` (one per test module): `laworkflow --store X serve --port P` as a subprocess on a
  fresh SQLite file, with an inspector's and an auditor's key issued by the CLI beforehand; it
  yields a `WebServer` (base_url, store, inspector_key, auditor_key) and is stopped with SIGTERM,
  which must be a clean exit 0. `start_server(folder)` is the same as a context manager, for a
  test that needs a server of its own.
- `browser` (one per session): headless Chromium from Debian's `chromium` package (Playwright
  downloads no browser); the test skips, saying so, where none is installed.
- `page`: a fresh context and page. Every request to a host other than 127.0.0.1 is aborted and
  recorded, and the test fails at teardown if there was one: no page may reach a CDN. What the
  page asked of the server and what came back is in `traffic` (`traffic.failed_locally` lists the
  answers of 400 and above, `traffic.errors` the console's errors, for a test that expects none).
  `local_only_context(browser, traffic)` makes another such context (a second person signed in).
- `check_accessibility(page)` runs axe-core (an npm dev dependency, injected into the page) at
  WCAG 2.2 AA and returns its violations; `assert_accessible(page)` fails the test listing each
  one's rule, impact, help text and elements.
- `screenshot(page, name)` saves a full-page PNG as test-artifacts/screenshots/NAME.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from web_harness import LOCAL_HOST, Traffic, WebServer, chromium_path, local_only_context, require_assets, start_server


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    require_assets()
    with start_server(tmp_path_factory.mktemp("web")) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium: install Debian's chromium package (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def traffic() -> Traffic:
    return Traffic()


@pytest.fixture
def page(browser: Any, traffic: Traffic) -> Iterator[Any]:
    """A page in a fresh context (no cookies carried over) that can reach 127.0.0.1 and nothing else."""
    context = local_only_context(browser, traffic)
    yield context.new_page()
    context.close()
    assert not traffic.outside, f"the page tried to reach other hosts than {LOCAL_HOST}: {traffic.outside}"
