"""The browser-test harness's helpers; the fixtures that use them are in conftest.py, which says what each does.

Test modules import what they need: `from web_harness import assert_accessible, screenshot`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "workflows"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
LOCAL_HOST = "127.0.0.1"
STARTUP_SECONDS = 60
# The rules axe-core tags for WCAG 2.0, 2.1 and 2.2 at levels A and AA (2.2 added only AA rules at this level).
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@dataclass(frozen=True)
class WebServer:
    """A running `laworkflow serve`: where it answers, its store, and a key of each role the pages serve."""

    base_url: str
    store: Path
    inspector_key: str
    auditor_key: str
    log: Path

    def url(self, path: str) -> str:
        return self.base_url + path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((LOCAL_HOST, 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    """This environment without any LAWORKFLOW_ setting a developer's shell may carry."""
    return {key: value for key, value in os.environ.items() if not key.startswith("LAWORKFLOW_")}


def _cli(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "laworkflow.cli", "--store", str(store), "--workflows", str(WORKFLOWS), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        cwd=store.parent,
    )


def issue_key(store: Path, name: str, role: str) -> str:
    """A key of `role` issued by the CLI into `store` (the server reads the key ring from the store on each request)."""
    issued = _cli(store, "keys", "issue", name, "--role", role, "--json")
    assert issued.returncode == 0, issued.stderr
    return str(json.loads(issued.stdout)["key"])


def require_assets() -> None:
    """The pages need the install step's assets; without npm they cannot exist, and that is a reason to skip, not a failure."""
    from laworkflow.http.web.assets import assets_built

    if assets_built():
        return
    if shutil.which("npm") is None:
        pytest.skip("the web view's assets were not built: npm is not installed (install Node.js, then pip install -e . again)")
    pytest.fail("npm is installed but the web view's assets were not built: run pip install -e . (or python build_backend/laworkflow_build.py)")


@contextmanager
def start_server(folder: Path, *serve_args: str, env: dict[str, str] | None = None) -> Iterator[WebServer]:
    """`laworkflow serve` on a new SQLite file in `folder`, keys issued first; SIGTERM at the end, which must exit 0."""
    store = folder / "web.sqlite"
    inspector, auditor = issue_key(store, "web-inspector", "inspector"), issue_key(store, "web-auditor", "auditor")
    port = _free_port()
    log = folder / "serve.log"
    command = [sys.executable, "-m", "laworkflow.cli", "--store", str(store), "--workflows", str(WORKFLOWS), "serve", "--port", str(port), *serve_args]
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=folder, env={**_env(), **(env or {})})
    base_url = f"http://{LOCAL_HOST}:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"serve exited with {process.returncode} before /readyz answered:\n{log.read_text(errors='replace')}")
            try:
                if httpx.get(f"{base_url}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"/readyz did not answer 200 within {STARTUP_SECONDS}s:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield WebServer(base_url, store, inspector, auditor, log)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=STARTUP_SECONDS) == 0, log.read_text(errors="replace")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def chromium_path() -> str | None:
    """Debian's chromium (the `chromium` package; .ci/run installs it when it is missing)."""
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


@dataclass
class Traffic:
    """What a page did: requests to other hosts (aborted), local answers of 400 and above, errors in its console."""

    outside: list[str] = field(default_factory=list)
    failed_locally: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # console errors (a refused Content-Security-Policy shows here) and uncaught exceptions


def local_only_context(browser: Any, traffic: Traffic) -> Any:
    """A new browser context that aborts, and records in `traffic`, every request to a host other than 127.0.0.1.

    Its pages also record in `traffic` the local answers of 400 and above and the console's errors.
    """
    # Service workers could fetch past the routing below: none is allowed to register.
    context = browser.new_context(service_workers="block", viewport={"width": 1280, "height": 900})

    def route(route: Any) -> None:
        url = route.request.url
        if urlsplit(url).hostname == LOCAL_HOST:
            route.continue_()
        else:
            traffic.outside.append(f"{route.request.method} {url}")
            route.abort()

    def answered(response: Any) -> None:
        if response.status >= 400 and urlsplit(response.url).hostname == LOCAL_HOST:
            traffic.failed_locally.append(f"{response.status} {response.request.method} {response.url}")

    def opened(page: Any) -> None:
        page.on("response", answered)
        page.on("console", lambda message: traffic.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: traffic.errors.append(str(error)))

    context.route("**/*", route)
    context.on("page", opened)
    return context


def check_accessibility(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations of WCAG 2.2 AA (and the 2.0 and 2.1 A and AA rules it includes) on the page as it is now."""
    if not AXE.is_file():
        pytest.fail(f"axe-core is missing ({AXE.relative_to(ROOT)}): the install step's npm ci installs it")
    page.add_script_tag(path=str(AXE))
    violations: list[dict[str, Any]] = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations",
        WCAG_22_AA,
    )
    return violations


def describe_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        targets = ", ".join(" ".join(map(str, node["target"])) for node in violation["nodes"])
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} — {targets}")
    return "\n".join(lines)


def assert_accessible(page: Any) -> None:
    """Fail the test with every WCAG 2.2 AA violation axe-core finds on the page, each with the elements at fault."""
    violations = check_accessibility(page)
    assert not violations, f"axe-core found {len(violations)} WCAG 2.2 AA violation(s) on {page.url}:\n{describe_violations(violations)}"


def screenshot(page: Any, name: str) -> Path:
    """A full-page PNG of the page as test-artifacts/screenshots/NAME.png, for a person to look at after the run."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
